//! Untrusted text (contract §11): cmark's pathological families at 1k, 10k and
//! 100k characters, the inputs from issue 11, and random input, each rendered on
//! a thread with a 256 KiB stack, so any recursion that grows with the input
//! fails here instead of aborting a server. Times are in the benchmark
//! (`cargo bench -p brook-markdown`), never asserted.

use brook_markdown::{parse, Event, MAX_DEPTH};
use proptest::prelude::*;

#[path = "support/families.rs"]
mod families;
use families::families;

const SMALL_STACK: usize = 256 * 1024;

/// Renders `text` (HTML and events) on a small stack; returns the HTML.
fn render_small_stack(text: String) -> String {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(move || {
            let events = parse(&text);
            let depth = max_depth(&events);
            let mut html = String::new();
            brook_markdown::push_html(&mut html, &events);
            let mut stream = brook_markdown::stream::StreamRenderer::new();
            // Streamed too: small chunks up to 10k, then ~10 (the stream's own
            // tests cover chunking; debug builds are slow).
            let chunk = if text.len() <= 10_000 { 97 } else { text.len() / 10 };
            for chunk in text.as_bytes().chunks(chunk.max(1)) {
                stream.push(&String::from_utf8_lossy(chunk));
            }
            drop(stream);
            (html, depth)
        })
        .expect("spawn")
        .join()
        .map(|(html, depth)| {
            assert!(depth <= 2 * MAX_DEPTH as usize + 4, "nesting {depth}");
            html
        })
        .expect("rendering panicked or overflowed")
}

fn max_depth(events: &[Event]) -> usize {
    let (mut d, mut max) = (0usize, 0usize);
    for e in events {
        match e {
            Event::Start(_) => {
                d += 1;
                max = max.max(d);
            }
            Event::End => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[test]
fn pathological_families_render_on_a_small_stack() {
    for n in [1_000, 10_000, 100_000] {
        for (name, input) in families(n) {
            let html = render_small_stack(input);
            assert!(!html.is_empty(), "{name} at {n}");
        }
    }
}

#[test]
fn issue_11_inputs_render_as_plain_text_past_32_levels() {
    let html = render_small_stack(format!("{}x", "- ".repeat(5000)));
    assert_eq!(html.matches("<ul>").count(), MAX_DEPTH as usize);
    assert!(html.contains("- - - x"), "the rest is text");
    let html = render_small_stack(format!("{} x", ">".repeat(6000)));
    assert_eq!(html.matches("<blockquote>").count(), MAX_DEPTH as usize);
    let html = render_small_stack("[a".repeat(32 * 1024));
    assert_eq!(html.len(), "<p></p>".len() + 64 * 1024);
    // Emphasis: 32 levels render, the rest are literal asterisks.
    let html = render_small_stack(format!("{}a{}", "*".repeat(200), "*".repeat(200)));
    assert!(
        html.matches("<em>").count() + html.matches("<strong>").count() <= MAX_DEPTH as usize,
        "{html}"
    );
    // A 16,000-character message and a 1 MiB reply of ordinary markdown.
    let reply =
        "## Title\n\nSome *text* with `code` and [a link](https://x.y).\n\n- one\n- two\n\n```rust\nfn x() {}\n```\n\n"
            .repeat(1 << 20 >> 7);
    assert!(render_small_stack(reply).len() > 1 << 20);
}

/// Markdown-heavy random text: every construct's trigger characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "*",
        "**",
        "_",
        "__",
        "~~",
        "`",
        "``",
        "[",
        "]",
        "(",
        ")",
        "![",
        "<",
        ">",
        "&",
        "&amp;",
        "&#",
        ";",
        "\\",
        "\n",
        "\n\n",
        "- ",
        "1. ",
        "> ",
        "    ",
        "\t",
        "#",
        "|",
        "---",
        "===",
        "```",
        "~~~",
        "a",
        "b c",
        "é",
        "😀",
        "http://",
        "www.",
        "@",
        ".",
        "<a href=\"",
        "\"",
        "'",
        "<!--",
        "-->",
        "[x]: /u",
        "\r",
        "\0",
        " ",
    ]);
    prop::collection::vec(atoms, 0..300).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_markdown_never_panics_or_recurses(text in hostile_text()) {
        render_small_stack(text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        render_small_stack(String::from_utf8_lossy(&bytes).into_owned());
    }
}
