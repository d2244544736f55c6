//! The text a bubble shows: the reply itself or the earlier version the reader
//! browsed to.

use leptos::prelude::*;

use crate::store::Msg;

/// Calls `f` with the text on screen and its source: the reply itself
/// (`None`), or the earlier version `Some(i)` the reader browsed to (the reply's
/// own text while that version is not loaded). Reads the signals tracked,
/// without copying the text.
pub(super) fn with_shown<T>(msg: &Msg, f: impl FnOnce(Option<usize>, &str) -> T) -> T {
    let source = msg.version_at.get();
    match source.filter(|&i| msg.versions.with(|v| i < v.len())) {
        Some(i) => msg
            .versions
            .with(|v| f(source, v.get(i).map_or("", |m| m.content.as_str()))),
        None => msg.content.with(|c| f(source, c)),
    }
}

/// The text on screen (see [`with_shown`]), copied.
pub(super) fn shown_text(msg: &Msg) -> String {
    with_shown(msg, |_, text| text.to_string())
}
