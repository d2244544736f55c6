//! `presence` (contract §9.2): a visitor's page is in the foreground or away;
//! never answered.

use protocol::frames::{ClientPresence, PresenceFrame};

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) fn apply(p: PresenceFrame, conn: &Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    engine
        .people
        .report_presence(caller.conn, p.status == ClientPresence::Away);
    Flow::Continue
}
