//! `ping` (contract §3.2): answered with `pong` carrying the client's `ts`.

use protocol::frames::{PingFrame, ServerFrame};

use crate::ws::connection::{Connection, Flow};

pub(in crate::ws) async fn apply(p: PingFrame, conn: &Connection) -> Flow {
    conn.send_frame(ServerFrame::Pong { ts: p.ts }).await
}
