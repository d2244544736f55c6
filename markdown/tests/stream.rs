//! The stream renderer: any chunking of a text, then finish, gives exactly
//! `to_html` of the whole text; final blocks are emitted once and the tail
//! stays the open block only.

mod support;

use brook_markdown::stream::{BlockStream, Finish, StreamRenderer};
use brook_markdown::to_html;
use proptest::prelude::*;

fn chunked(text: &str, cuts: &[usize]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (chars.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points.into_iter().chain([chars.len()]) {
        out.push(chars[last..p].iter().collect());
        last = p;
    }
    out
}

fn stream_html(chunks: &[String]) -> (String, String) {
    let mut r = StreamRenderer::new();
    let mut done = String::new();
    let mut tail = String::new();
    for c in chunks {
        let u = r.push(c);
        done.push_str(u.done);
        if let Some(t) = u.tail {
            tail = t.to_string();
        }
    }
    assert_eq!(r.html(), format!("{done}{tail}"));
    (r.finish(), done)
}

/// Markdown from a small grammar: every block kind, with the constructs whose
/// finality is subtle (lazy lines, setext, lists with blank lines, fences, tables, definitions).
pub fn doc() -> impl Strategy<Value = String> {
    let inline = prop::sample::select(vec![
        "word",
        "*em*",
        "**strong**",
        "`code`",
        "[link](https://a.b)",
        "[ref]",
        "~~del~~",
        "a_b",
        "&amp;",
        "<b>",
        "https://x.y/z",
        "***x***",
        "\\*",
        "foo  ",
        "![i](https://i/x.png)",
    ]);
    let line = prop::collection::vec(inline, 1..5).prop_map(|v| v.join(" "));
    let block = (line.clone(), line, 0..16u8).prop_map(|(a, b, k)| match k {
        0 => format!("{a}\n"),
        1 => format!("{a}\n{b}\n"),
        2 => format!("# {a}\n"),
        3 => format!("{a}\n===\n"),
        4 => format!("- {a}\n- {b}\n"),
        5 => format!("- {a}\n\n  {b}\n"),
        6 => format!("1. {a}\n\n   ```py\n   x = 1\n   ```\n"),
        7 => format!("> {a}\n{b}\n"),
        8 => "```\ncode\n\n more\n```\n".to_string(),
        9 => format!("| {a} | x |\n|---|:-:|\n| {b} | y |\n"),
        10 => "[ref]: https://r.example \"T\"\n".to_string(),
        11 => "---\n".to_string(),
        12 => format!("    indented {a}\n"),
        13 => format!("{a}\n- {b}\n"),
        14 => "<div>\nraw\n</div>\n".to_string(),
        _ => format!("{a}\n\n"),
    });
    prop::collection::vec((block, prop::bool::ANY), 1..12).prop_map(|v| {
        v.into_iter()
            .map(|(b, blank)| if blank { b + "\n" } else { b })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_then_finish_equals_to_html(text in doc(), cuts in prop::collection::vec(any::<usize>(), 0..40)) {
        let (html, _) = stream_html(&chunked(&text, &cuts));
        prop_assert_eq!(html, to_html(&text));
    }

    #[test]
    fn token_by_token_equals_to_html(text in doc()) {
        let chunks: Vec<String> = text.chars().collect::<Vec<_>>().chunks(4).map(|c| c.iter().collect()).collect();
        let (html, _) = stream_html(&chunks);
        prop_assert_eq!(html, to_html(&text));
    }
}

#[test]
fn crlf_split_across_tokens() {
    let text = "a\r\n\r\nb\r\n- c\r\n";
    let chunks: Vec<String> = text.chars().map(String::from).collect();
    assert_eq!(stream_html(&chunks).0, to_html(text));
}

#[test]
fn finished_blocks_leave_the_tail() {
    let mut s = BlockStream::new();
    for i in 0..200 {
        s.push(&format!("Paragraph {i} with *some* text.\n\n"));
    }
    let step = s.push("The last one is still");
    // Only the open paragraph is re-rendered.
    let tail = step.tail.expect("a small tail is parsed on every push");
    assert_eq!(tail.len(), 3, "{tail:?}");
    assert!(step.done.is_empty());
    assert!(matches!(s.finish(), Finish::Tail(_)));
}

#[test]
fn a_late_definition_renders_the_whole_text_again() {
    let text = "See [x].\n\nMore.\n\n[x]: https://x.example\n";
    let mut s = BlockStream::new();
    for c in text.split_inclusive('\n') {
        s.push(c);
    }
    assert!(matches!(s.finish(), Finish::Whole(_)));
    let (html, _) = stream_html(&text.split_inclusive('\n').map(String::from).collect::<Vec<_>>());
    assert_eq!(html, to_html(text));
    assert!(html.contains("href=\"https://x.example\""));
}

#[test]
fn an_earlier_definition_resolves_while_streaming() {
    let mut r = StreamRenderer::new();
    r.push("[x]: https://x.example\n\nSee [x].\n\n");
    let u = r.push("Next");
    assert_eq!(u.tail, Some("<p>Next</p>"));
    assert!(r.html().contains("href=\"https://x.example\""));
}

#[test]
fn a_huge_open_block_is_reparsed_a_logarithmic_number_of_times() {
    let mut s = BlockStream::new();
    let mut parses = 0;
    let token = "word ";
    for _ in 0..(200_000 / token.len()) {
        if s.push(token).tail.is_some() {
            parses += 1;
        }
    }
    // Every push up to 2 KiB, then at each 1/32 of growth: about 32·ln(100).
    assert!(parses < 2048 / 5 + 32 * 6, "{parses} parses");
    let Finish::Tail(events) = s.finish() else {
        panic!("no definitions here")
    };
    assert_eq!(events.len(), 3);
}
