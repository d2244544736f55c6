//! The chat server's URLs (contract §3 and §4), built from the [`Config`].

use crate::config::Config;
use crate::js;
use crate::machine::rules::POLL_WAIT_MS;
use crate::machine::HttpRoute;

/// Where each request goes, with the bearer token where one is used.
pub struct Endpoints {
    base: String,
    ws_path: String,
    token: Option<String>,
}

impl Endpoints {
    pub fn new(cfg: &Config) -> Endpoints {
        Endpoints {
            base: cfg.base.clone(),
            ws_path: cfg.ws_path.clone(),
            token: cfg.token.clone(),
        }
    }

    /// The bearer token for `fetch` (`None`: the page's own cookie).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A URL with `token=` in its query (EventSource and WebSocket cannot send headers).
    fn with_token(&self, url: String) -> String {
        match &self.token {
            Some(t) => format!(
                "{url}{}token={}",
                if url.contains('?') { '&' } else { '?' },
                js::encode(t)
            ),
            None => url,
        }
    }

    /// `ws(s)://…{ws_path}`, on the page's origin when `base` is empty.
    pub fn websocket(&self) -> String {
        let base = if self.base.is_empty() {
            js::window()
                .and_then(|w| w.location().origin().ok())
                .unwrap_or_default()
        } else {
            self.base.clone()
        };
        let base = match base.strip_prefix("http") {
            Some(rest) => format!("ws{rest}"),
            None => base,
        };
        self.with_token(format!("{base}{}", self.ws_path))
    }

    pub fn health(&self) -> String {
        self.url("/health")
    }

    /// The identity's live events, with `session_id`'s if given.
    pub fn live(&self, session_id: Option<&str>) -> String {
        let path = match session_id {
            Some(s) => format!("/api/v1/chat/events?session_id={}", js::encode(s)),
            None => "/api/v1/chat/events".to_string(),
        };
        self.with_token(self.url(&path))
    }

    pub fn reply_events(&self, reply_id: &str, after_seq: u64) -> String {
        self.with_token(self.url(&format!(
            "/api/v1/chat/replies/{}/events?after_seq={after_seq}",
            js::encode(reply_id)
        )))
    }

    pub fn reply_poll(&self, reply_id: &str, after_seq: u64) -> String {
        self.with_token(self.url(&format!(
            "/api/v1/chat/replies/{}/poll?after_seq={after_seq}&wait_ms={POLL_WAIT_MS}",
            js::encode(reply_id)
        )))
    }

    pub fn reply_stop(&self, reply_id: &str) -> String {
        self.url(&format!("/api/v1/chat/replies/{}/stop", js::encode(reply_id)))
    }

    pub fn send(&self, route: HttpRoute) -> String {
        self.url(match route {
            HttpRoute::Messages => "/api/v1/chat/messages",
            HttpRoute::Regenerate => "/api/v1/chat/regenerate",
        })
    }
}
