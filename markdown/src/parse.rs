//! Markdown → AST.

/// A block-level node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    /// A fenced code block: its language tag and text. `closed` is false while
    /// the closing fence has not streamed in yet.
    Code {
        lang: String,
        text: String,
        closed: bool,
    },
    Quote(Vec<Block>),
    List {
        ordered: bool,
        start: u32,
        items: Vec<Vec<Block>>,
    },
    Table {
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Rule,
}

/// An inline node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Strong(Vec<Inline>),
    Emphasis(Vec<Inline>),
    Strike(Vec<Inline>),
    Code(String),
    /// Only ever built for safe URLs (see [`crate::safe_url`]).
    Link {
        href: String,
        children: Vec<Inline>,
    },
    LineBreak,
}

fn fence(line: &str) -> Option<(char, usize, &str)> {
    let t = line.trim_start();
    let c = t.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = t.chars().take_while(|&x| x == c).count();
    (n >= 3).then(|| (c, n, t.get(n..).unwrap_or("").trim()))
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let t = line.trim_start();
    let n = t.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&n) {
        let rest = t.get(n..).unwrap_or("");
        if rest.is_empty() || rest.starts_with(' ') {
            return Some((n as u8, rest.trim().trim_end_matches('#').trim_end()));
        }
    }
    None
}

fn is_rule(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3 && (t.chars().all(|c| c == '-') || t.chars().all(|c| c == '*') || t.chars().all(|c| c == '_'))
}

/// `- item`, `* item`, `+ item` or `12. item`: (ordered, number, indent of content, content).
fn list_item(line: &str) -> Option<(bool, u32, usize, &str)> {
    let indent = line.len() - line.trim_start().len();
    let t = line.trim_start();
    for m in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(m) {
            return Some((false, 0, indent + 2, rest));
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits <= 9 {
        let rest = t.get(digits..).unwrap_or("");
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            let n = t.get(..digits).and_then(|d| d.parse().ok()).unwrap_or(1);
            return Some((true, n, indent + digits + 2, r));
        }
    }
    None
}

fn table_cells(line: &str) -> Option<Vec<&str>> {
    let t = line.trim();
    // (A byte scan: a substring search would bring a panic path into the widget.)
    if !t.starts_with('|') && !t.as_bytes().windows(3).any(|w| w == b" | ") {
        return None;
    }
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    Some(t.split('|').map(str::trim).collect())
}

fn is_table_separator(line: &str) -> bool {
    table_cells(line).is_some_and(|cells| {
        !cells.is_empty()
            && cells.iter().all(|c| {
                let c = c.trim_matches(':');
                !c.is_empty() && c.chars().all(|x| x == '-')
            })
    })
}

/// Parses a whole document.
pub fn parse(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    parse_lines(&lines)
}

fn parse_lines(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut i = 0;
    let mut para: Vec<&str> = Vec::new();
    let flush = |para: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !para.is_empty() {
            blocks.push(Block::Paragraph(inline_lines(para)));
            para.clear();
        }
    };
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            flush(&mut para, &mut blocks);
            i += 1;
            continue;
        }
        if let Some((c, n, lang)) = fence(line) {
            flush(&mut para, &mut blocks);
            let mut body = Vec::new();
            let mut closed = false;
            i += 1;
            while i < lines.len() {
                if let Some((c2, n2, rest)) = fence(lines[i]) {
                    if c2 == c && n2 >= n && rest.is_empty() {
                        closed = true;
                        i += 1;
                        break;
                    }
                }
                body.push(lines[i]);
                i += 1;
            }
            let lang: String = lang.split_whitespace().next().unwrap_or("").chars().take(20).collect();
            blocks.push(Block::Code {
                lang,
                text: body.join("\n"),
                closed,
            });
            continue;
        }
        if let Some((level, rest)) = heading(line) {
            flush(&mut para, &mut blocks);
            blocks.push(Block::Heading(level, inline(rest)));
            i += 1;
            continue;
        }
        if is_rule(line) && para.is_empty() {
            blocks.push(Block::Rule);
            i += 1;
            continue;
        }
        if line.trim_start().starts_with('>') {
            flush(&mut para, &mut blocks);
            let mut inner = Vec::new();
            while i < lines.len() && lines[i].trim_start().starts_with('>') {
                let t = lines[i].trim_start();
                let t = t.strip_prefix('>').unwrap_or(t);
                inner.push(t.strip_prefix(' ').unwrap_or(t));
                i += 1;
            }
            blocks.push(Block::Quote(parse_lines(&inner)));
            continue;
        }
        if let Some((ordered, start, _, _)) = list_item(line) {
            flush(&mut para, &mut blocks);
            let base_indent = line.len() - line.trim_start().len();
            let mut items: Vec<Vec<&str>> = Vec::new();
            while i < lines.len() {
                let l = lines[i];
                let ind = l.len() - l.trim_start().len();
                match list_item(l) {
                    Some((o, _, _, content)) if ind <= base_indent + 1 && o == ordered => {
                        items.push(vec![content]);
                        i += 1;
                    }
                    _ if l.trim().is_empty() => {
                        // A blank line ends the list unless an indented line follows.
                        let next_indented = lines.get(i + 1).is_some_and(|n| {
                            let ni = n.len() - n.trim_start().len();
                            !n.trim().is_empty() && ni > base_indent
                        });
                        if !next_indented {
                            break;
                        }
                        if let Some(last) = items.last_mut() {
                            last.push("");
                        }
                        i += 1;
                    }
                    _ if ind > base_indent && !items.is_empty() => {
                        let strip = (base_indent + 2).min(ind);
                        if let Some(last) = items.last_mut() {
                            last.push(l.get(strip..).unwrap_or(l.trim_start()));
                        }
                        i += 1;
                    }
                    _ => break,
                }
            }
            let items = items.iter().map(|it| parse_lines(it)).collect();
            blocks.push(Block::List {
                ordered,
                start: start.max(1),
                items,
            });
            continue;
        }
        if para.is_empty() {
            if let (Some(head), Some(sep)) = (table_cells(line), lines.get(i + 1)) {
                if is_table_separator(sep) && head.len() > 1 {
                    let head: Vec<Vec<Inline>> = head.iter().map(|c| inline(c)).collect();
                    let mut rows = Vec::new();
                    i += 2;
                    while i < lines.len() {
                        match table_cells(lines[i]) {
                            Some(cells) if !lines[i].trim().is_empty() => {
                                let mut row: Vec<Vec<Inline>> = cells.iter().map(|c| inline(c)).collect();
                                row.resize(head.len(), Vec::new());
                                row.truncate(head.len());
                                rows.push(row);
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    blocks.push(Block::Table { head, rows });
                    continue;
                }
            }
        }
        para.push(line);
        i += 1;
    }
    flush(&mut para, &mut blocks);
    blocks
}

fn inline_lines(lines: &[&str]) -> Vec<Inline> {
    let mut out = Vec::new();
    for (n, l) in lines.iter().enumerate() {
        if n > 0 {
            // Two trailing spaces or a backslash make a hard break; otherwise a space.
            let prev = lines[n - 1];
            if prev.ends_with("  ") || prev.ends_with('\\') {
                out.push(Inline::LineBreak);
            } else {
                push_text(&mut out, "\n");
            }
        }
        let l = if n + 1 < lines.len() {
            l.trim_end_matches('\\').trim_end()
        } else {
            l.trim_end()
        };
        out.extend(inline(l.trim_start()));
    }
    out
}

fn push_text(out: &mut Vec<Inline>, s: &str) {
    if let Some(Inline::Text(t)) = out.last_mut() {
        t.push_str(s);
    } else if !s.is_empty() {
        out.push(Inline::Text(s.to_string()));
    }
}

/// Parses inline markup in one run of text.
pub fn inline(s: &str) -> Vec<Inline> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut text = String::new();
    let take = |text: &mut String, out: &mut Vec<Inline>| {
        if !text.is_empty() {
            push_text(out, text);
            text.clear();
        }
    };
    while i < chars.len() {
        let c = chars[i];
        // Backslash escapes punctuation.
        if c == '\\' && i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() {
            text.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == '`' {
            let ticks = chars[i..].iter().take_while(|&&x| x == '`').count();
            let close = find_run(&chars, i + ticks, '`', ticks);
            if let Some(end) = close {
                take(&mut text, &mut out);
                let code: String = chars[i + ticks..end].iter().collect();
                out.push(Inline::Code(code.trim().to_string()));
                i = end + ticks;
                continue;
            }
        }
        if (c == '*' || c == '_') && i + 1 < chars.len() && chars[i + 1] == c {
            if let Some(end) = find_delim(&chars, i + 2, &[c, c]) {
                take(&mut text, &mut out);
                let inner: String = chars[i + 2..end].iter().collect();
                out.push(Inline::Strong(inline(&inner)));
                i = end + 2;
                continue;
            }
        }
        if c == '~' && i + 1 < chars.len() && chars[i + 1] == '~' {
            if let Some(end) = find_delim(&chars, i + 2, &['~', '~']) {
                take(&mut text, &mut out);
                let inner: String = chars[i + 2..end].iter().collect();
                out.push(Inline::Strike(inline(&inner)));
                i = end + 2;
                continue;
            }
        }
        if (c == '*' || c == '_') && i + 1 < chars.len() && !chars[i + 1].is_whitespace() {
            // `_` inside a word (snake_case) is not emphasis.
            let word_before = i > 0 && chars[i - 1].is_alphanumeric();
            if !(c == '_' && word_before) {
                if let Some(end) = find_delim(&chars, i + 1, &[c]) {
                    let after_ok = c != '_' || chars.get(end + 1).is_none_or(|n| !n.is_alphanumeric());
                    if end > i + 1 && !chars[end - 1].is_whitespace() && after_ok {
                        take(&mut text, &mut out);
                        let inner: String = chars[i + 1..end].iter().collect();
                        out.push(Inline::Emphasis(inline(&inner)));
                        i = end + 1;
                        continue;
                    }
                }
            }
        }
        if c == '[' {
            if let Some((label_end, url_start, url_end)) = link_at(&chars, i) {
                let label: String = chars[i + 1..label_end].iter().collect();
                let url: String = chars[url_start..url_end].iter().collect();
                let url = url
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_matches(|c| c == '<' || c == '>')
                    .to_string();
                take(&mut text, &mut out);
                if crate::safe_url(&url) {
                    out.push(Inline::Link {
                        href: url,
                        children: inline(&label),
                    });
                } else {
                    // An unsafe target: keep the words, drop the link.
                    for n in inline(&label) {
                        match n {
                            Inline::Text(t) => push_text(&mut out, &t),
                            other => out.push(other),
                        }
                    }
                }
                i = url_end + 1;
                continue;
            }
        }
        if c == '<' {
            // <https://…> autolinks; any other tag is text.
            if let Some(end) = chars[i + 1..].iter().position(|&x| x == '>') {
                let inner: String = chars[i + 1..i + 1 + end].iter().collect();
                if crate::safe_url(&inner) && !inner.contains(char::is_whitespace) {
                    take(&mut text, &mut out);
                    out.push(Inline::Link {
                        href: inner.clone(),
                        children: vec![Inline::Text(inner)],
                    });
                    i += end + 2;
                    continue;
                }
            }
        }
        text.push(c);
        i += 1;
    }
    take(&mut text, &mut out);
    out
}

fn find_run(chars: &[char], from: usize, c: char, n: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == c {
            let run = chars[i..].iter().take_while(|&&x| x == c).count();
            if run == n {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

fn find_delim(chars: &[char], from: usize, delim: &[char]) -> Option<usize> {
    let mut i = from;
    while i + delim.len() <= chars.len() {
        if chars[i] == '`' {
            // Code spans hide delimiters.
            let ticks = chars[i..].iter().take_while(|&&x| x == '`').count();
            match find_run(chars, i + ticks, '`', ticks) {
                Some(e) => {
                    i = e + ticks;
                    continue;
                }
                None => return None,
            }
        }
        if chars[i..i + delim.len()] == *delim && i > from {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// `[label](url)` at `i`: (end of label, start of url, end of url).
fn link_at(chars: &[char], i: usize) -> Option<(usize, usize, usize)> {
    let mut depth = 0;
    let mut j = i;
    while j < chars.len() {
        match chars[j] {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        j += 1;
    }
    if j >= chars.len() || chars.get(j + 1) != Some(&'(') {
        return None;
    }
    let url_start = j + 2;
    let mut depth = 1;
    let mut k = url_start;
    while k < chars.len() {
        match chars[k] {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((j, url_start, k));
                }
            }
            _ => {}
        }
        k += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let doc = "# Title\n\nSome *text* and **bold**.\n\n- a\n- b\n\n1. one\n2. two\n\n```rust\nfn x() {}\n```\n\n> quote\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |";
        let b = parse(doc);
        assert!(matches!(b[0], Block::Heading(1, _)));
        assert!(matches!(b[1], Block::Paragraph(_)));
        assert!(matches!(&b[2], Block::List { ordered: false, items, .. } if items.len() == 2));
        assert!(matches!(&b[3], Block::List { ordered: true, items, .. } if items.len() == 2));
        assert!(matches!(&b[4], Block::Code { lang, closed: true, .. } if lang == "rust"));
        assert!(matches!(b[5], Block::Quote(_)));
        assert!(matches!(b[6], Block::Rule));
        assert!(matches!(&b[7], Block::Table { head, rows } if head.len() == 2 && rows.len() == 1));
    }

    #[test]
    fn unclosed_fence_while_streaming() {
        let b = parse("text\n\n```py\nprint(1)");
        assert!(matches!(&b[1], Block::Code { closed: false, text, .. } if text == "print(1)"));
    }

    #[test]
    fn links_are_filtered() {
        assert_eq!(
            inline("[ok](https://a.b) [bad](javascript:alert(1))"),
            vec![
                Inline::Link {
                    href: "https://a.b".into(),
                    children: vec![Inline::Text("ok".into())]
                },
                Inline::Text(" bad".into()),
            ]
        );
    }

    #[test]
    fn snake_case_is_not_emphasis() {
        assert_eq!(inline("a_b_c"), vec![Inline::Text("a_b_c".into())]);
        assert_eq!(inline("`a*b*`"), vec![Inline::Code("a*b*".into())]);
    }
}
