//! A small syntax highlighter for code blocks: keywords, strings, comments and
//! numbers for the languages models write most. Good enough to read code at a
//! glance; it never changes the text, only splits it into classed tokens.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Plain,
    Keyword,
    String,
    Comment,
    Number,
}

impl TokenKind {
    /// The CSS class the renderers use.
    pub fn class(self) -> Option<&'static str> {
        match self {
            TokenKind::Plain => None,
            TokenKind::Keyword => Some("tk-kw"),
            TokenKind::String => Some("tk-str"),
            TokenKind::Comment => Some("tk-com"),
            TokenKind::Number => Some("tk-num"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub text: String,
}

struct Lang {
    keywords: &'static [&'static str],
    line_comments: &'static [&'static str],
    block_comment: Option<(&'static str, &'static str)>,
}

const RUST: Lang = Lang {
    keywords: &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
        "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "Some",
        "None", "Ok", "Err",
    ],
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
};
const JS: Lang = Lang {
    keywords: &[
        "async",
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "from",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "interface",
        "let",
        "new",
        "null",
        "of",
        "return",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "type",
        "typeof",
        "undefined",
        "var",
        "void",
        "while",
        "yield",
    ],
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
};
const PYTHON: Lang = Lang {
    keywords: &[
        "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
        "False", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "None", "nonlocal", "not",
        "or", "pass", "raise", "return", "True", "try", "while", "with", "yield", "self", "print",
    ],
    line_comments: &["#"],
    block_comment: None,
};
const SHELL: Lang = Lang {
    keywords: &[
        "if", "then", "else", "elif", "fi", "for", "in", "do", "done", "while", "case", "esac", "function", "return",
        "export", "local", "echo", "cd", "sudo", "set",
    ],
    line_comments: &["#"],
    block_comment: None,
};
const C_LIKE: Lang = Lang {
    keywords: &[
        "auto",
        "break",
        "case",
        "char",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extends",
        "false",
        "final",
        "float",
        "for",
        "func",
        "go",
        "if",
        "import",
        "int",
        "interface",
        "long",
        "new",
        "nil",
        "null",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "static",
        "struct",
        "switch",
        "this",
        "true",
        "void",
        "var",
        "while",
        "defer",
        "range",
        "map",
        "chan",
        "string",
        "bool",
    ],
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
};
const SQL: Lang = Lang {
    keywords: &[
        "select", "from", "where", "insert", "into", "values", "update", "set", "delete", "create", "table", "index",
        "join", "left", "right", "inner", "on", "and", "or", "not", "null", "order", "by", "group", "limit", "as",
        "primary", "key", "SELECT", "FROM", "WHERE", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "CREATE",
        "TABLE", "INDEX", "JOIN", "ON", "AND", "OR", "NOT", "NULL", "ORDER", "BY", "GROUP", "LIMIT", "AS", "PRIMARY",
        "KEY",
    ],
    line_comments: &["--"],
    block_comment: Some(("/*", "*/")),
};
const PLAIN: Lang = Lang {
    keywords: &["true", "false", "null"],
    line_comments: &[],
    block_comment: None,
};

fn lang(tag: &str) -> &'static Lang {
    match tag.to_ascii_lowercase().as_str() {
        "rust" | "rs" => &RUST,
        "js" | "javascript" | "ts" | "typescript" | "jsx" | "tsx" | "json" => &JS,
        "py" | "python" => &PYTHON,
        "sh" | "bash" | "shell" | "zsh" | "console" => &SHELL,
        "c" | "cpp" | "c++" | "java" | "go" | "kotlin" | "swift" | "cs" | "csharp" => &C_LIKE,
        "sql" => &SQL,
        _ => &PLAIN,
    }
}

fn push(out: &mut Vec<Token>, kind: TokenKind, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(last) = out.last_mut() {
        if last.kind == kind {
            last.text.push_str(text);
            return;
        }
    }
    out.push(Token {
        kind,
        text: text.to_string(),
    });
}

/// Splits `code` into tokens; concatenating their texts gives `code` back.
pub fn highlight(code: &str, lang_tag: &str) -> Vec<Token> {
    let l = lang(lang_tag);
    let mut out = Vec::new();
    let mut i = 0;
    let b = code.as_bytes();
    while i < code.len() {
        let rest = &code[i..];
        if let Some(lc) = l.line_comments.iter().find(|lc| rest.starts_with(**lc)) {
            let _ = lc;
            let end = rest.find('\n').unwrap_or(rest.len());
            push(&mut out, TokenKind::Comment, &rest[..end]);
            i += end;
            continue;
        }
        if let Some((open, close)) = l.block_comment {
            if let Some(after) = rest.strip_prefix(open) {
                let end = after.find(close).map_or(rest.len(), |e| e + open.len() + close.len());
                push(&mut out, TokenKind::Comment, &rest[..end]);
                i += end;
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c == '"' || c == '\'' || c == '`' {
            let mut j = c.len_utf8();
            let mut escaped = false;
            for ch in rest[j..].chars() {
                j += ch.len_utf8();
                if escaped {
                    escaped = false;
                } else if ch == '\\' {
                    escaped = true;
                } else if ch == c || (ch == '\n' && c != '`') {
                    break;
                }
            }
            push(&mut out, TokenKind::String, &rest[..j]);
            i += j;
            continue;
        }
        if c.is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
            let j = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_'))
                .unwrap_or(rest.len());
            push(&mut out, TokenKind::Number, &rest[..j]);
            i += j;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let j = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..j];
            let kind = if l.keywords.contains(&word) {
                TokenKind::Keyword
            } else {
                TokenKind::Plain
            };
            push(&mut out, kind, word);
            i += j;
            continue;
        }
        push(&mut out, TokenKind::Plain, &rest[..c.len_utf8()]);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_classifies() {
        let code = "fn main() { let s = \"hi // not a comment\"; // real\n    42 }";
        let toks = highlight(code, "rust");
        assert_eq!(toks.iter().map(|t| t.text.as_str()).collect::<String>(), code);
        assert!(toks.iter().any(|t| t.kind == TokenKind::Keyword && t.text == "fn"));
        assert!(toks
            .iter()
            .any(|t| t.kind == TokenKind::String && t.text.contains("not a comment")));
        assert!(toks.iter().any(|t| t.kind == TokenKind::Comment && t.text == "// real"));
        assert!(toks.iter().any(|t| t.kind == TokenKind::Number && t.text == "42"));
        let py = highlight("# c\nx = 'é'", "python");
        assert_eq!(py.iter().map(|t| t.text.as_str()).collect::<String>(), "# c\nx = 'é'");
    }
}
