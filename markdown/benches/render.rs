//! `cargo bench -p brook-markdown`: prints, asserts nothing.
//!
//! 1. Render time of cmark's pathological families (and issue 11's inputs) at
//!    1k, 10k, 100k characters and 1 MiB, next to pulldown-cmark on the same input.
//! 2. Streaming: the cost per 4-character token of a reply at 20 KB, 100 KB and
//!    1 MiB, re-rendering the whole text per token (before) and with the stream
//!    renderer (after).

use std::time::{Duration, Instant};

#[path = "../tests/support/families.rs"]
mod families;

fn time<F: FnMut()>(mut f: F) -> Duration {
    // Best of a few runs (fewer for slow cases).
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    for _ in 0..5 {
        let t = Instant::now();
        f();
        let d = t.elapsed();
        best = best.min(d);
        total += d;
        if total > Duration::from_millis(500) {
            break;
        }
    }
    best
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn pulldown(text: &str) -> String {
    let mut opts = pulldown_cmark::Options::empty();
    opts.insert(pulldown_cmark::Options::ENABLE_TABLES);
    opts.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, pulldown_cmark::Parser::new_ext(text, opts));
    out
}

fn pathological() {
    const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1 << 20];
    println!("## Render time per input (ms, best of ≤5), Brook | pulldown-cmark 0.13\n");
    println!("| input | 1k | 10k | 100k | 1 MiB |");
    println!("|---|---|---|---|---|");
    let names: Vec<&str> = families::families(1000).into_iter().map(|(n, _)| n).collect();
    for (i, name) in names.iter().enumerate() {
        let mut row = format!("| {name} |");
        for n in SIZES {
            let input = families::families(n).swap_remove(i).1;
            let b = time(|| {
                std::hint::black_box(brook_markdown::to_html(&input));
            });
            let p = time(|| {
                std::hint::black_box(pulldown(&input));
            });
            row.push_str(&format!(" {} \\| {} |", ms(b), ms(p)));
        }
        println!("{row}");
    }
    let plain = "Some plain text in a paragraph, the baseline.\n\n".repeat(1 << 20 >> 6);
    let mut row = "| plain paragraphs (baseline) |".to_string();
    for n in SIZES {
        let input = &plain[..n.min(plain.len())];
        let b = time(|| {
            std::hint::black_box(brook_markdown::to_html(input));
        });
        let p = time(|| {
            std::hint::black_box(pulldown(input));
        });
        row.push_str(&format!(" {} \\| {} |", ms(b), ms(p)));
    }
    println!("{row}\n");
}

/// A reply of `n` bytes of typical model markdown.
fn reply(n: usize) -> String {
    let unit = "## A heading\n\nA paragraph with **bold**, *italic*, `code` and a [link](https://example.com/docs).\n\
It goes on for a second line, as models write.\n\n- first point\n- second point with `x`\n- third\n\n\
```python\ndef f(x):\n    return x * 2\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> A quote.\n\n";
    let mut s = unit.repeat(n / unit.len() + 1);
    let mut cut = n.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, _) in s.char_indices() {
        if count == 4 {
            out.push(&s[start..i]);
            start = i;
            count = 0;
        }
        count += 1;
    }
    out.push(&s[start..]);
    out
}

fn streaming() {
    println!("## Cost per 4-character token (µs), native, release\n");
    println!("| reply | tokens | re-render whole (before) | stream renderer (after) | after, whole reply |");
    println!("|---|---|---|---|---|");
    for (label, n) in [("20 KB", 20_000), ("100 KB", 100_000), ("1 MiB", 1 << 20)] {
        let text = reply(n);
        let toks = tokens(&text);
        // Before: to_html of the prefix at each token. Measured on 200 evenly
        // spaced tokens (the mean over all tokens of a cost linear in the prefix).
        let samples = 200.min(toks.len());
        let mut before = Duration::ZERO;
        let mut prefix_ends: Vec<usize> = Vec::with_capacity(toks.len());
        let mut end = 0;
        for t in &toks {
            end += t.len();
            prefix_ends.push(end);
        }
        for k in 0..samples {
            let idx = k * toks.len() / samples;
            let prefix = &text[..prefix_ends[idx]];
            let t = Instant::now();
            std::hint::black_box(brook_markdown::to_html(prefix));
            before += t.elapsed();
        }
        let before_per = before.as_secs_f64() / samples as f64;
        // After: the whole reply through the stream renderer.
        let t = Instant::now();
        let mut r = brook_markdown::stream::StreamRenderer::new();
        let mut max_tail = 0;
        for tok in &toks {
            let u = r.push(tok);
            max_tail = max_tail.max(u.tail.map_or(0, str::len));
        }
        let html = r.finish();
        let after = t.elapsed();
        let whole = Instant::now();
        assert_eq!(html.len(), brook_markdown::to_html(&text).len());
        let whole = whole.elapsed();
        println!(
            "| {label} | {} | {:.1} | {:.2} | {} ms (largest tail {} B of HTML); to_html once: {} ms |",
            toks.len(),
            before_per * 1e6,
            after.as_secs_f64() * 1e6 / toks.len() as f64,
            ms(after),
            max_tail,
            ms(whole)
        );
    }
    println!();
}

fn main() {
    // `cargo test --all-targets` runs this binary too, without `--bench`: keep
    // that to a smoke run of every path.
    if !std::env::args().any(|a| a == "--bench") {
        for (_, input) in families::families(1000) {
            std::hint::black_box(brook_markdown::to_html(&input));
        }
        let mut r = brook_markdown::stream::StreamRenderer::new();
        for t in tokens(&reply(2000)) {
            r.push(t);
        }
        assert_eq!(r.finish(), brook_markdown::to_html(&reply(2000)));
        println!("bench smoke run: ok (run `cargo bench -p brook-markdown` for numbers)");
        return;
    }
    if std::env::args().any(|a| a == "--stream-only") {
        streaming();
        return;
    }
    pathological();
    streaming();
}
