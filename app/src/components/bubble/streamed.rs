//! Markdown that may still be growing, drawn through the chat bubble's own
//! streaming path ([`ReplyHtml`]): the owner's inbox shows a visitor's reply
//! token by token at the same cost per token as the chat (issue 14).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::render_plan::{How, Rendered};
use super::reply_html::ReplyHtml;

/// `text` as safe HTML (the markdown renderer's sanitised output), kept up to
/// date as it changes: appended to while `live`, rendered whole once finished.
/// The first HTML is the whole text's, as the server renders it.
#[component]
pub fn StreamedMarkdown(text: Signal<String>, live: Signal<bool>) -> impl IntoView {
    let md = NodeRef::<leptos::html::Div>::new();
    let (first_html, first) = untrack(|| {
        text.try_with(|t| (markdown::to_html(t), Rendered::new(None, How::Whole, t)))
            .unwrap_or_else(|| (String::new(), Rendered::new(None, How::Whole, "")))
    });
    let mut first = Some(first);
    Effect::new(move |state: Option<Option<ReplyHtml>>| {
        let live = live.try_get().unwrap_or(false);
        let mut state = state.flatten().or_else(|| {
            let el = md.get_untracked()?.unchecked_into::<web_sys::Element>();
            Some(ReplyHtml::new(el, first.take()?))
        });
        text.try_with(|t| {
            if let Some(s) = state.as_mut() {
                s.show(None, live, t);
            }
        });
        state
    });
    view! { <div class="md" node_ref=md inner_html=first_html></div> }
}
