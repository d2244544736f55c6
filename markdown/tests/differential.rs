//! Differential testing against pulldown-cmark 0.13 (a dev-dependency only):
//! markdown generated from a grammar of block and inline constructs must give
//! the same normalised HTML from Brook's parser (through the spec-shaped
//! reference renderer) as from pulldown-cmark.
//!
//! Deliberate differences, kept out of the grammar (see docs/decisions.md):
//! GFM extended autolinks (bare `https://…`, `www.`, emails: Brook links them,
//! pulldown-cmark has no such extension); a single `~` (pulldown-cmark strikes
//! through with one tilde, Brook and GFM 0.29 need two); nesting past 32 levels
//! (Brook shows it as text); `~~` between a letter and punctuation (Brook
//! applies the emphasis flanking rules to `~~`, as cmark-gfm does;
//! pulldown-cmark is looser); a table straight under a paragraph line (Brook,
//! like cmark-gfm, ends the paragraph there; pulldown-cmark keeps it text).

mod support;

use proptest::prelude::*;
use support::{normalize, reference_html};

fn pulldown(text: &str) -> String {
    let mut opts = pulldown_cmark::Options::empty();
    opts.insert(pulldown_cmark::Options::ENABLE_TABLES);
    opts.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, pulldown_cmark::Parser::new_ext(text, opts));
    // Same alignment, GFM's attribute instead of a style.
    out.replace(" style=\"text-align: ", " align=\"")
}

fn inline() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "word",
        "two words",
        "x",
        "`code`",
        "`` a`b ``",
        "[t](/u)",
        "[t](/u \"title\")",
        "[t][ref]",
        "[ref]",
        "![alt](/i.png)",
        "<https://a.b/c>",
        "\\*",
        "&amp;",
        "&copy;",
        "&#65;",
        "<span>",
        "a_b",
        "foo*",
        "*",
        "**",
        "_",
        "(",
        ")",
        "[",
        "]",
        "!",
        "<",
        ">",
        "\"",
        "'",
        ".",
        "ü",
        "😀",
        "2 + 2",
    ])
    .prop_map(String::from);
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.join(" ")),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| v.join("")),
            inner.clone().prop_map(|s| format!("*{s}*")),
            inner.clone().prop_map(|s| format!("**{s}**")),
            inner.clone().prop_map(|s| format!("_{s}_")),
            inner.clone().prop_map(|s| format!("__{s}__")),
            inner.clone().prop_map(|s| format!("~~{s}~~")),
            inner.clone().prop_map(|s| format!("[{s}](/dest)")),
            inner.clone().prop_map(|s| format!("{s}  \nnext")),
            inner.prop_map(|s| format!("{s}\ncontinued")),
        ]
    })
}

fn block() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        inline().prop_map(|s| format!("{s}\n")),
        (1..7usize, inline()).prop_map(|(n, s)| format!("{} {s}\n", "#".repeat(n))),
        inline().prop_map(|s| format!("{s}\n===\n")),
        inline().prop_map(|s| format!("{s}\n---\n")),
        Just("```rust\nfn x() {}\n\n  y\n```\n".to_string()),
        Just("~~~\ncode ~~~\n~~~\n".to_string()),
        Just("    indented\n      code\n".to_string()),
        Just("***\n".to_string()),
        Just("[ref]: /url \"Title\"\n".to_string()),
        Just("<div>\n*not emphasis*\n</div>\n".to_string()),
        // After a blank line: a table right under text ends the paragraph in Brook
        // (as in cmark-gfm) but not in pulldown-cmark.
        (inline(), inline()).prop_map(|(a, b)| {
            let (a, b) = (a.replace('\n', " "), b.replace('\n', " "));
            format!("\n| {a} | h |\n|---|:-:|\n| {b} | c |\n")
        }),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(|b| b.lines().map(|l| format!("> {l}\n")).collect()),
            (
                inner.clone(),
                inner.clone(),
                prop::bool::ANY,
                prop::sample::select(vec!["- ", "* ", "1. ", "2) "])
            )
                .prop_map(|(a, b, loose, marker)| {
                    let pad = " ".repeat(marker.len());
                    let item = |t: &str| {
                        t.lines()
                            .enumerate()
                            .map(|(i, l)| {
                                if i == 0 {
                                    format!("{marker}{l}\n")
                                } else if l.is_empty() {
                                    "\n".to_string()
                                } else {
                                    format!("{pad}{l}\n")
                                }
                            })
                            .collect::<String>()
                    };
                    format!("{}{}{}", item(&a), if loose { "\n" } else { "" }, item(&b))
                }),
            prop::collection::vec(inner, 1..4).prop_map(|v| v.join("\n")),
        ]
    })
}

fn tilde_between_letter_and_punctuation(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(1)).any(|i| {
        if &b[i..i + 2] != b"~~" {
            return false;
        }
        let before = if i == 0 { b' ' } else { b[i - 1] };
        let after = b.get(i + 2).copied().unwrap_or(b' ');
        let letter = |c: u8| c.is_ascii_alphanumeric() || c >= 0x80;
        let (x, y) = (letter(before), letter(after));
        (x && after.is_ascii_punctuation() && after != b'~') || (y && before.is_ascii_punctuation() && before != b'~')
    })
}

fn doc() -> impl Strategy<Value = String> {
    prop::collection::vec((block(), prop::bool::ANY), 1..6).prop_map(|v| {
        v.into_iter()
            .map(|(b, blank)| if blank { b + "\n" } else { b })
            .collect()
    })
}

/// Inputs the generator once found, kept as fixed cases (the random cases
/// differ from run to run).
#[test]
fn found_cases_parse_as_pulldown_cmark_does() {
    const FOUND: &[&str] = &[
        // An HTML line of type 7 after a table's rows is another row, not an
        // HTML block (it cannot interrupt a table, as it cannot a paragraph).
        "> \n> | word | h |\n> |---|:-:|\n> | word | c |\n> <span>\n> ---\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n<span>\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n</span>\n",
        "- | a | b |\n  |---|---|\n  <span>\n",
        // The same kind, the other way: what does end a table.
        "| a | b |\n|---|---|\n| 1 | 2 |\n<div>\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n<!-- c -->\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n2. x\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n-\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n* \n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n    code\n",
    ];
    for text in FOUND {
        let ours = normalize(&reference_html(&brook_markdown::parse(text)));
        let theirs = normalize(&pulldown(text));
        assert_eq!(ours, theirs, "markdown:\n{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn brook_parses_as_pulldown_cmark_does(text in doc()) {
        prop_assume!(!tilde_between_letter_and_punctuation(&text));
        let ours = normalize(&reference_html(&brook_markdown::parse(&text)));
        let theirs = normalize(&pulldown(&text));
        prop_assert_eq!(ours, theirs, "markdown:\n{}", text);
    }
}
