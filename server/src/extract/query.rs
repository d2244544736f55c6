//! The query string, decoded once (`application/x-www-form-urlencoded`, as
//! browsers and `url::Url` write it), so that every check and every log line sees
//! the same names: `?%74oken=JWT` is the parameter `token`, for authentication,
//! for the widget's origin check and for log redaction alike (issue 11 §4.2).

use http::Uri;

/// The query's pairs with names and values percent-decoded (`+` is a space).
pub fn pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `?token=` (contract §2): the value of the one parameter whose decoded name is
/// exactly `token`. Blank is absent. Two or more `token` parameters are refused
/// (`Err`): which one would win is a question an attacker should not get to ask
/// twice with two answers.
pub fn token(uri: &Uri) -> Result<Option<String>, AmbiguousToken> {
    let mut found = pairs(uri).into_iter().filter(|(k, _)| k == "token").map(|(_, v)| v);
    let first = found.next();
    if found.next().is_some() {
        return Err(AmbiguousToken);
    }
    Ok(first.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()))
}

/// More than one `token` in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the query names token more than once")]
pub struct AmbiguousToken;

/// Whether a parameter with this decoded name carries a secret and must never be
/// logged: `token` and anything naming a token, key, secret or password.
pub fn is_secret_name(decoded: &str) -> bool {
    let n = decoded.to_ascii_lowercase();
    ["token", "key", "secret", "password", "jwt"]
        .iter()
        .any(|s| n.contains(s))
}

/// The URI as it may be logged: the path, and the query with the value of every
/// secret-named parameter (judged by its decoded name) replaced by `[redacted]`.
/// Names are written back decoded, so a log reader sees what the server saw.
pub fn redacted(uri: &Uri) -> String {
    let path = uri.path();
    let Some(q) = uri.query() else {
        return path.to_string();
    };
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        if is_secret_name(&k) {
            out.append_pair(&k, "[redacted]");
        } else {
            out.append_pair(&k, &v);
        }
    }
    format!("{path}?{}", out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn encoded_names_are_the_names() {
        assert_eq!(token(&uri("/x?%74oken=abc")), Ok(Some("abc".into())));
        assert_eq!(token(&uri("/x?%74%6f%6b%65%6e=abc")), Ok(Some("abc".into())));
        assert_eq!(token(&uri("/x?token=a%2Eb")), Ok(Some("a.b".into())));
        assert_eq!(token(&uri("/x?tok=abc")), Ok(None));
        assert_eq!(token(&uri("/x?token=")), Ok(None));
        assert_eq!(token(&uri("/x?token=a&%74oken=b")), Err(AmbiguousToken));
    }

    #[test]
    fn redaction_judges_decoded_names() {
        for raw in [
            "/ws/chat?a=1&token=secret.jwt&b=2",
            "/ws/chat?a=1&%74oken=secret.jwt&b=2",
            "/ws/chat?a=1&TOKEN=secret.jwt&b=2",
            "/ws/chat?a=1&%54%4F%4B%45%4E=secret.jwt&b=2",
            "/ws/chat?a=1&access_token=secret.jwt&b=2",
            "/ws/chat?a=1&api%5Fkey=secret.jwt&b=2",
        ] {
            let s = redacted(&uri(raw));
            assert!(!s.contains("secret.jwt"), "{raw} → {s}");
            assert!(s.contains("a=1") && s.contains("b=2"), "{raw} → {s}");
            assert!(s.contains("[redacted]") || s.contains("%5Bredacted%5D"), "{raw} → {s}");
        }
        assert_eq!(redacted(&uri("/health")), "/health");
    }
}
