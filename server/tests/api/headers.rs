//! Security headers (issue 11 §5): every HTML page has a strict, nonced
//! Content-Security-Policy whose nonce is the one its scripts carry, and every
//! response says `nosniff` and a `Referrer-Policy`.

use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(every_page_sends_a_strict_policy_with_its_scripts_nonce);

fn nonce_of(csp: &str) -> String {
    let start = csp.find("'nonce-").expect("a nonce in the policy") + "'nonce-".len();
    csp[start..].split('\'').next().unwrap().to_string()
}

async fn every_page_sends_a_strict_policy_with_its_scripts_nonce(b: Backend) {
    let Some(app) = app(b).await else { return };
    let pair = {
        let r = app
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": "pages@example.com", "password": "correct horse battery"}),
            )
            .await;
        let c = r.headers()["set-cookie"].to_str().unwrap().to_string();
        c.split(';').next().unwrap().to_string()
    };
    let mut nonces = std::collections::HashSet::new();
    for (path, wasm) in [
        ("/login", true),
        ("/c/new-one", true),
        ("/bots", true),
        ("/ws/test", false),
    ] {
        let r = app
            .http
            .get(app.url(path))
            .header("accept", "text/html")
            .header("cookie", &pair)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin", "{path}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
            "{path}: {csp}"
        );
        assert_eq!(csp.contains("'wasm-unsafe-eval'"), wasm, "{path}: {csp}");
        let nonce = nonce_of(&csp);
        assert!(nonce.len() >= 16, "{path}: a real nonce");
        let html = r.text().await.unwrap();
        // Every inline script carries this response's nonce, and there is one.
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path}");
        for s in &scripts {
            let tag = s.split('>').next().unwrap();
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: <script{tag}> lacks the nonce"
            );
        }
        assert!(nonces.insert(nonce), "a fresh nonce per response");
    }
    // A page that does not exist is HTML too, with a policy.
    let r = app
        .http
        .get(app.url("/no/such/page"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("content-security-policy"));
    // API answers and static files say nosniff as well.
    for path in ["/health", "/api/v1/auth/me", "/widget.js"] {
        let r = app.get(path, None).await;
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
    }
}
