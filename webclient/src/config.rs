//! What the owner tells the client about the chat server.

/// Where the chat server is and how to authenticate.
pub struct Config {
    /// `""` for the page's own origin, else `https://chat.example.com`.
    pub base: String,
    /// The WebSocket's path, e.g. `/api/v1/chat/ws`.
    pub ws_path: String,
    /// A bearer token (the widget's visitor token); the app uses its cookie.
    pub token: Option<String>,
    /// How often to try the WebSocket again while on a fallback, in ms (a random
    /// point in `[upgrade_ms, 2 × upgrade_ms)`; default
    /// [`crate::machine::rules::DEFAULT_UPGRADE_MS`]).
    pub upgrade_ms: u32,
}
