//! Brook's own HTML: the faults reported in issues 11 and 17, and the safe
//! subset checked on every spec example.

mod support;

use brook_markdown::{parse, to_html, to_html_or_plain, Event, Tag};

const ALLOWED_TAGS: &[&str] = &[
    "p",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "ul",
    "ol",
    "li",
    "div",
    "span",
    "button",
    "pre",
    "code",
    "em",
    "strong",
    "del",
    "a",
    "br",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
];

const ALLOWED_ATTRS: &[&str] = &[
    "href",
    "title",
    "target",
    "rel",
    "class",
    "type",
    "aria-label",
    "data-copy",
    "tabindex",
    "start",
    "align",
];

/// Every tag in Brook's HTML is one it writes, and every link is safe.
fn assert_safe(html: &str, context: &str) {
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag in {context}: {html}"));
        let tag = &rest[..end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            ALLOWED_TAGS.contains(&name.as_str()),
            "tag <{tag}> in {context}: {html}"
        );
        // Attributes: only Brook's names, values quoted with no quote inside.
        let mut attrs = tag.trim_start_matches('/')[name.len()..].trim();
        while !attrs.is_empty() {
            let (key, after) = attrs.split_once(['=', ' ']).unwrap_or((attrs, ""));
            assert!(ALLOWED_ATTRS.contains(&key), "attribute {key} in {context}: {tag}");
            if attrs[key.len()..].starts_with("=\"") {
                let v = &attrs[key.len() + 2..];
                let close = v
                    .find('"')
                    .unwrap_or_else(|| panic!("unquoted value in {context}: {tag}"));
                let value = &v[..close];
                if key == "href" {
                    let l = value.to_ascii_lowercase();
                    assert!(
                        l.starts_with("https://") || l.starts_with("http://") || l.starts_with("mailto:"),
                        "unsafe href in {context}: {tag}"
                    );
                }
                attrs = v[close + 1..].trim_start();
            } else {
                attrs = after.trim_start();
            }
        }
        rest = &rest[end + 1..];
    }
}

#[test]
fn every_spec_example_is_safe() {
    for file in ["commonmark-0.31.2.json", "gfm-0.29-extensions.json"] {
        for ex in support::load(file) {
            let html = to_html(&ex.markdown);
            assert_safe(&html, &format!("example {}", ex.number));
        }
    }
}

#[test]
fn fenced_code_in_a_numbered_item_keeps_its_indentation() {
    let md = "1. a\n\n   ```python\n   def f():\n       return 1\n   ```\n";
    let html = to_html(md);
    assert!(html.contains("<code><span class=\"tk-kw\">def</span> f():\n    <span class=\"tk-kw\">return</span> <span class=\"tk-num\">1</span>\n</code>"), "{html}");
    // A double blank line inside the fence does not end the list.
    let md = "1. a\n\n   ```\n   x\n\n\n   y\n   ```\n2. b\n";
    let evs = parse(md);
    assert!(evs.contains(&Event::Text("x\n\n\ny\n".into())), "{evs:?}");
    assert_eq!(evs.iter().filter(|e| matches!(e, Event::Start(Tag::Item))).count(), 2);
}

#[test]
fn triple_emphasis_and_nesting() {
    assert_eq!(to_html("***x***"), "<p><em><strong>x</strong></em></p>");
    assert_eq!(
        to_html("*foo **bar** baz*"),
        "<p><em>foo <strong>bar</strong> baz</em></p>"
    );
    assert_eq!(to_html("*foo\nbar*"), "<p><em>foo\nbar</em></p>");
}

#[test]
fn character_references() {
    assert_eq!(
        to_html("&amp; &copy; &#123; &#x1F600; &nbsp;|"),
        "<p>&amp; © { 😀 \u{a0}|</p>"
    );
    assert_eq!(to_html("&bogus; &#xZZ;"), "<p>&amp;bogus; &amp;#xZZ;</p>");
}

#[test]
fn images_are_links_to_the_image() {
    let html = to_html("![alt](https://x.y/a.png)");
    assert_eq!(
        html,
        "<p><a href=\"https://x.y/a.png\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">alt</a></p>"
    );
    assert_eq!(to_html("![alt](/rel.png)"), "<p>alt</p>");
    assert_eq!(to_html("![alt](javascript:x)"), "<p>alt</p>");
    // No anchor inside an anchor.
    let html = to_html("[![a](https://i/x.png)](https://l/)");
    assert_eq!(html.matches("<a ").count(), 1, "{html}");
    assert!(!html.contains('!'), "{html}");
}

#[test]
fn underscores_inside_words_are_not_emphasis() {
    assert_eq!(
        to_html("snake__case__name and a_b_c"),
        "<p>snake__case__name and a_b_c</p>"
    );
    assert_eq!(to_html("__bold__"), "<p><strong>bold</strong></p>");
}

#[test]
fn tight_and_loose_lists() {
    assert_eq!(to_html("- a\n- b"), "<ul><li>a</li><li>b</li></ul>");
    assert_eq!(to_html("- a\n\n- b"), "<ul><li><p>a</p></li><li><p>b</p></li></ul>");
    assert_eq!(to_html("3. a\n4. b"), "<ol start=\"3\"><li>a</li><li>b</li></ol>");
}

#[test]
fn hostile_html_is_text() {
    let h = to_html("<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))");
    assert!(!h.contains("<script"), "{h}");
    assert!(!h.contains("<img"), "{h}");
    assert!(!h.contains("href=\"javascript"), "{h}");
    assert!(h.contains("&lt;script&gt;"), "{h}");
    // An HTML block is shown as code.
    let h = to_html("<div onclick=\"x()\">\nhi\n</div>");
    assert!(
        h.starts_with("<div class=\"code\">") && h.contains("&lt;div onclick=&quot;x()&quot;&gt;"),
        "{h}"
    );
    // Entity-encoded schemes, tabs in angle destinations, relative links: text.
    for md in [
        "[a](jav&#x61;script:alert(1))",
        "[a](<java\tscript:alert(1)>)",
        "[a](/relative)",
        "[a](data:text/html,x)",
        "<javascript:alert(1)>",
        "[a]\n\n[a]: javascript:alert(1)",
    ] {
        let h = to_html(md);
        assert_safe(&h, md);
        assert!(!h.contains("<a "), "{md}: {h}");
    }
}

#[test]
fn attributes_cannot_be_broken_out_of() {
    let h = to_html("[a](https://x.y/\"onmouseover=alert(1)) [b](<https://x.y/\" onclick=x>) <https://a.b/\"'>");
    assert_safe(&h, "quotes");
    assert!(!h.contains("\"onmouseover") && !h.contains("\" onclick"), "{h}");
}

#[test]
fn the_usual_in_brooks_shape() {
    let h = to_html("# T\n\n**b** *i* `c` ~~s~~\n\n```rust\nfn x() {}\n```\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\n---");
    assert!(h.starts_with("<h3>T</h3>"), "{h}");
    assert!(
        h.contains("<strong>b</strong> <em>i</em> <code>c</code> <del>s</del>"),
        "{h}"
    );
    // The app's Copy button finds `[data-copy]`, then `.code`, then its `pre`.
    assert!(h.contains("<div class=\"code\"><div class=\"code-bar\"><span class=\"code-lang\">rust</span><button type=\"button\" class=\"copy\" data-copy aria-label=\"Copy code\">Copy</button></div><pre tabindex=\"0\"><code><span class=\"tk-kw\">fn</span> x() {}\n</code></pre></div>"), "{h}");
    assert!(h.contains("<div class=\"table\"><table><thead><tr><th align=\"left\">a</th><th align=\"right\">b</th></tr></thead><tbody><tr><td align=\"left\">1</td><td align=\"right\">2</td></tr></tbody></table></div>"), "{h}");
    assert!(h.ends_with("<hr>"), "{h}");
    assert_eq!(to_html("see https://a.b/c."), "<p>see <a href=\"https://a.b/c\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">https://a.b/c</a>.</p>");
    assert_eq!(to_html("~5 min to ~10"), "<p>~5 min to ~10</p>");
}

#[test]
fn or_plain_matches_to_html_and_plain_escapes() {
    let md = "# a\n\n*b* <c>";
    assert_eq!(to_html_or_plain(md), to_html(md));
    assert_eq!(brook_markdown::plain_html("<b>\nx"), "<p>&lt;b&gt;<br>x</p>");
}
