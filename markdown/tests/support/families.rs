//! Hostile inputs shared by the tests and the benchmark.

/// cmark's `test/pathological_tests.py` families (and issue 11's), sized to `n` characters.
pub fn families(n: usize) -> Vec<(&'static str, String)> {
    fn rep(unit: &str, n: usize) -> String {
        unit.repeat((n / unit.len()).max(1))
    }
    let half = |unit: &str, mid: &str, close: &str| {
        let k = (n / 2 / unit.len()).max(1);
        format!("{}{mid}{}", unit.repeat(k), close.repeat(k))
    };
    vec![
        ("nested strong emph", half("*a **a ", "b", " a** a*")),
        ("many emph closers", rep("a_ ", n)),
        ("many emph openers", rep("_a ", n)),
        ("many link closers", rep("a]", n)),
        ("many link openers", rep("[a", n)),
        ("mismatched openers and closers", rep("*a_ ", n)),
        ("openers and closers multiple of 3", format!("a**b{}", rep("c* ", n))),
        ("link openers and emph closers", rep("[ a_", n)),
        ("pattern [ (]( repeated", rep("[ (](", n)),
        ("pattern ![[]() repeated", rep("![[]()", n)),
        ("nested brackets", half("[", "a", "]")),
        ("nested block quotes", format!("{}a", rep("> ", n))),
        (
            "deeply nested lists",
            (0..)
                .map(|x| format!("{}* a\n", "  ".repeat(x)))
                .scan(0, |len, l| {
                    *len += l.len();
                    (*len <= n.max(200)).then_some(l)
                })
                .collect(),
        ),
        (
            "backticks",
            (1..)
                .map(|x| format!("e{}", "`".repeat(x)))
                .scan(0, |len, l| {
                    *len += l.len();
                    (*len <= n).then_some(l)
                })
                .collect(),
        ),
        ("unclosed links A", rep("[a](<b", n)),
        ("unclosed links B", rep("[a](b", n)),
        ("unclosed links C", rep("[a](b(c)", n)),
        ("unclosed <!--", format!("</{}", rep("<!--", n))),
        ("< runs", rep("<a ", n)),
        ("<? runs", rep("<?", n)),
        ("<!A runs", rep("<!A ", n)),
        (
            "empty lines in nested lists",
            format!("{}x{}", rep("- ", n / 2), "\n".repeat(n / 2)),
        ),
        (
            "emph in deep blockquote",
            format!("{}{}", ">".repeat(n / 2), rep("a*", n / 2)),
        ),
        ("nested inlines", half("*", "a", "*")),
        ("issue 11: - ", format!("{}x", rep("- ", n))),
        ("issue 11: >", format!("{} x", ">".repeat(n))),
        (
            "reference definitions",
            (0..)
                .map(|i| format!("[x{i}]: /u\n\n[x{i}]\n\n"))
                .scan(0, |len, l| {
                    *len += l.len();
                    (*len <= n).then_some(l)
                })
                .collect(),
        ),
        ("table columns", format!("{}\n{}\n", rep("|a", n / 2), rep("|-", n / 2))),
        ("bare URLs", rep("https://a.b/(( www.a.b_ ", n)),
        ("emails", rep("a.b@c.d@", n)),
        ("entities", rep("&amp;&ClockwiseContourIntegral;&#x1F600;&nosuch;", n)),
        (
            "highlighter: open comments and strings",
            format!("```rust\n{}", rep("/*\"'` a1 // x\n", n)),
        ),
        ("code fences in deep lists", rep("1. a\n\n   ```py\n   x = '''\n", n)),
    ]
}
