//! GFM tables (GFM 0.29 §4.10): the delimiter row and cell splitting.

use crate::event::Align;

/// Cells of a row: split at unescaped `|`, outer pipes dropped, each trimmed,
/// `\|` turned into `|` (so it reaches code spans as a plain pipe).
pub(crate) fn cells(row: &str) -> Vec<String> {
    let t = row.trim_matches(|c: char| c == ' ' || c == '\t');
    let t = t.strip_prefix('|').unwrap_or(t);
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut last = 0;
    let mut i = 0;
    let mut ended_with_pipe = false;
    while i < b.len() {
        match b.get(i) {
            Some(b'\\') if b.get(i + 1) == Some(&b'|') => {
                cur.push_str(t.get(last..i).unwrap_or(""));
                cur.push('|');
                i += 2;
                last = i;
            }
            Some(b'|') => {
                cur.push_str(t.get(last..i).unwrap_or(""));
                out.push(std::mem::take(&mut cur).trim_matches([' ', '\t']).to_string());
                i += 1;
                last = i;
                ended_with_pipe = i == b.len();
            }
            _ => i += 1,
        }
    }
    if !ended_with_pipe {
        cur.push_str(t.get(last..).unwrap_or(""));
        let c = cur.trim_matches([' ', '\t']);
        if !c.is_empty() || out.is_empty() || !b.is_empty() {
            out.push(c.to_string());
        }
    }
    out
}

/// A delimiter row (`| :--- | ---: |`): the columns' alignments. It must hold
/// at least one pipe, so that `---` stays a setext underline or a rule.
pub(crate) fn delimiter_row(line: &str) -> Option<Vec<Align>> {
    if !line.contains('|') {
        return None;
    }
    let mut aligns = Vec::new();
    for c in cells(line) {
        let b = c.as_bytes();
        let left = b.first() == Some(&b':');
        let right = b.len() > 1 && b.last() == Some(&b':');
        let inner = &b[usize::from(left)..b.len() - usize::from(right)];
        if inner.is_empty() || !inner.iter().all(|&x| x == b'-') {
            return None;
        }
        aligns.push(match (left, right) {
            (true, true) => Align::Center,
            (true, false) => Align::Left,
            (false, true) => Align::Right,
            (false, false) => Align::None,
        });
    }
    (!aligns.is_empty()).then_some(aligns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        assert_eq!(cells("| a | b |"), vec!["a", "b"]);
        assert_eq!(cells("a | b"), vec!["a", "b"]);
        assert_eq!(cells("| f\\|oo  |"), vec!["f|oo"]);
        assert_eq!(cells("| a |  |"), vec!["a", ""]);
        assert_eq!(
            delimiter_row(":-: | -----------:"),
            Some(vec![Align::Center, Align::Right])
        );
        assert_eq!(delimiter_row("| --- |"), Some(vec![Align::None]));
        assert_eq!(delimiter_row("---"), None);
        assert_eq!(delimiter_row("| -x- |"), None);
    }
}
