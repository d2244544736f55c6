//! What a client frame the owner sends asks for (contract §3.2), read with
//! `JSON.parse` for the machine.

use crate::js;
use crate::machine::{OutKind, Outgoing};

/// Reads `type` and the fields the machine needs from a client frame.
pub fn read(text: &str) -> Outgoing {
    let Some(o) = js::parse(text) else {
        return Outgoing {
            text: text.to_string(),
            kind: OutKind::Unparsable,
        };
    };
    let field = |k: &str| js::get_str(&o, k);
    let kind = match field("type").as_deref() {
        Some("message") => OutKind::Message {
            client_id: field("client_id"),
        },
        Some("regenerate") => OutKind::Regenerate {
            client_id: field("client_id"),
        },
        Some("stop") => field("reply_id").map_or(OutKind::Other, |reply_id| OutKind::Stop { reply_id }),
        Some("resume") => field("reply_id").map_or(OutKind::Other, |reply_id| OutKind::Resume {
            reply_id,
            after_seq: js::get_f64(&o, "after_seq").unwrap_or(0.0) as u64,
        }),
        Some("join") => field("session_id").map_or(OutKind::Other, |session_id| OutKind::Join { session_id }),
        Some("leave") => OutKind::Leave,
        _ => OutKind::Other,
    };
    Outgoing {
        text: text.to_string(),
        kind,
    }
}
