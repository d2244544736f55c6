//! `message` (contract §3.2): stores a user message and queues its reply;
//! answered with `ack`, or an `error` naming the frame's `client_id`.

use engine::chat::{SendMessage, Via};
use protocol::frames::{MessageFrame, ServerFrame};

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) async fn apply(m: MessageFrame, conn: &Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    let client_id = m.client_id.clone();
    let req = SendMessage {
        message: m.message,
        session_id: m.session_id,
        client_id: m.client_id,
        bot_id: m.bot_id,
        path_bot: conn.path_bot(),
        origin_conn: Some(caller.conn),
        ip: Some(conn.ip()),
        via: Via::Frame,
    };
    match engine.exchange.send_message(&caller.who, req).await {
        Ok(ack) => conn.send_frame(ServerFrame::Ack(ack)).await,
        Err(e) => conn.error(&e, client_id).await,
    }
}
