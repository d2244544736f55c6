//! CommonMark 0.31.2 and GFM 0.29 (tables, strikethrough, autolinks) examples.
//!
//! The parser is checked with a reference renderer (tests/support) that
//! writes the spec's HTML from Brook's events: every example must pass but the
//! few listed in `SKIPPED` (each with its reason, also in docs/decisions.md).
//! Brook's own HTML is then checked on every example for the safe subset.

mod support;

use support::{load, normalize, reference_html};

/// Examples the parser deliberately does not match, with the reason.
const SKIPPED: &[(u64, &str)] = &[
    (606, "GFM extended autolink: the address inside is linked"),
    (608, "GFM extended autolink: the bare URL is linked"),
    (611, "GFM extended autolink: the bare URL is linked"),
    (612, "GFM extended autolink: the bare address is linked"),
];

/// GFM examples outside Brook's choices: `ftp://` is not autolinked (Brook
/// links http(s) and mailto only, so it would be text anyway).
const GFM_SKIPPED: &[(u64, &str)] = &[(628, "bare ftp:// is not an autolink in Brook")];

fn run(file: &str, skipped: &[(u64, &str)]) {
    let examples = load(file);
    let mut failed = Vec::new();
    for ex in &examples {
        let got = reference_html(&brook_markdown::parse(&ex.markdown));
        let ok = normalize(&got) == normalize(&ex.html);
        let skip = skipped.iter().any(|(n, _)| *n == ex.number);
        if !ok && !skip {
            failed.push(format!(
                "example {} ({}):\n--- markdown\n{}--- expected\n{}--- got\n{}",
                ex.number, ex.section, ex.markdown, ex.html, got
            ));
        }
        if ok && skip {
            failed.push(format!("example {} passes: take it off the skip list", ex.number));
        }
    }
    let n = failed.len();
    let shown: Vec<_> = failed.into_iter().take(40).collect();
    assert!(
        n == 0,
        "{n} of {} examples failed:\n{}",
        examples.len(),
        shown.join("\n")
    );
}

#[test]
fn commonmark_spec_examples() {
    run("commonmark-0.31.2.json", SKIPPED);
}

#[test]
fn gfm_extension_examples() {
    run("gfm-0.29-extensions.json", GFM_SKIPPED);
}
