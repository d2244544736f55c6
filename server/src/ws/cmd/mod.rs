//! One handler per client frame (contract §3), in the style of mini-redis's
//! `Command::from_frame` and `apply`: [`Command::from_frame`] parses a text
//! frame, [`Command::apply`] checks that the connection has authenticated (every
//! frame but `auth` needs it) and hands the frame to its module's `apply`.
//!
//! The handlers only import [`super::connection`], never this module, so the
//! modules of `ws` form no cycle.

mod auth;
mod join;
mod leave;
mod message;
mod ping;
mod presence;
mod read;
mod regenerate;
mod resume;
mod stop;
mod typing;

use protocol::frames::{ClientFrame, FrameError};
use protocol::ErrorCode;

use super::connection::{Connection, Flow};

/// A parsed client frame, ready to apply to its connection.
pub(super) struct Command(ClientFrame);

impl Command {
    /// Parses one text frame; an unreadable one is an `INVALID_JSON` or
    /// `INVALID_FRAME` error for the client (contract §3).
    pub(super) fn from_frame(text: &str) -> Result<Command, FrameError> {
        ClientFrame::parse(text).map(Command)
    }

    /// Runs the frame's handler; the frames it answers with wait in the
    /// connection's outbox.
    pub(super) async fn apply(self, conn: &mut Connection) -> Flow {
        let frame = match self.0 {
            ClientFrame::Auth(a) => return auth::apply(a, conn).await,
            other => other,
        };
        let Some(caller) = conn.caller() else {
            return conn
                .error_code(
                    ErrorCode::AuthRequired,
                    "authenticate first: send {\"type\":\"auth\",\"token\":\"…\"}",
                )
                .await;
        };
        match frame {
            ClientFrame::Auth(_) => Flow::Continue,
            ClientFrame::Message(m) => message::apply(m, conn, &caller).await,
            ClientFrame::Regenerate(r) => regenerate::apply(r, conn, &caller).await,
            ClientFrame::Stop(s) => stop::apply(s, conn, &caller).await,
            ClientFrame::Resume(r) => resume::apply(r, conn, &caller).await,
            ClientFrame::Join(j) => join::apply(j, conn, &caller).await,
            ClientFrame::Leave(l) => leave::apply(l, conn, &caller).await,
            ClientFrame::Typing(t) => typing::apply(t, conn, &caller).await,
            ClientFrame::Read(r) => read::apply(r, conn, &caller).await,
            ClientFrame::Presence(p) => presence::apply(p, conn, &caller),
            ClientFrame::Ping(p) => ping::apply(p, conn).await,
        }
    }
}
