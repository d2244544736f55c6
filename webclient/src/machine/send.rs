//! What happens to a client frame in each mode. On the WebSocket it goes as
//! is. On a fallback the same request is made over HTTP (contract §4) and the
//! answer comes back as frames: `message`/`regenerate` are POSTed, `stop` is
//! POSTed to the reply, `resume` follows the reply, `join`/`leave` reopen the
//! live stream, and the rest (`typing`, `read`, `ping` …) has no HTTP form
//! and is dropped. Not connected: the owner keeps the frame for `Ready`.

use super::state::State;
use super::types::{Accepted, Effect, HttpRoute, Mode, NotConnected, OutKind, Outgoing};

impl State {
    pub fn send(&mut self, frame: Outgoing) -> Result<(), NotConnected> {
        if self.stopped || !self.connected() {
            return Err(NotConnected);
        }
        if self.mode() == Mode::WebSocket {
            let socket = self.main.filter(|m| m.authed).ok_or(NotConnected)?;
            self.emit(Effect::SocketSend {
                socket: socket.id,
                text: frame.text,
            });
            return Ok(());
        }
        match frame.kind {
            OutKind::Unparsable => return Err(NotConnected),
            OutKind::Message { client_id } => self.emit(Effect::HttpSend {
                route: HttpRoute::Messages,
                body: frame.text,
                client_id,
            }),
            OutKind::Regenerate { client_id } => self.emit(Effect::HttpSend {
                route: HttpRoute::Regenerate,
                body: frame.text,
                client_id,
            }),
            OutKind::Stop { reply_id } => self.emit(Effect::HttpStop { reply_id }),
            OutKind::Resume { reply_id, after_seq } => self.follow(&reply_id, after_seq),
            OutKind::Join { session_id } => {
                if self.joined.as_deref() != Some(session_id.as_str()) || !self.live {
                    self.joined = Some(session_id);
                    self.open_live();
                }
            }
            OutKind::Leave => {
                self.joined = None;
                self.open_live();
            }
            OutKind::Other => {}
        }
        Ok(())
    }

    /// A `message`/`regenerate` sent over HTTP answered. Sending joins the
    /// conversation, as on a WebSocket (contract §3.2), and its reply is followed.
    pub fn http_answered(&mut self, frame: String, accepted: Option<Accepted>) {
        self.emit(Effect::Deliver(frame));
        let Some(a) = accepted else { return };
        if a.session_id.is_some() && self.joined != a.session_id {
            self.joined = a.session_id;
            self.open_live();
        }
        if let Some(reply) = a.reply_id {
            self.follow(&reply, 0);
        }
    }
}
