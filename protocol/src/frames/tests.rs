//! Client frames parse field by field; server and built client frames keep their wire shapes.

use super::*;

#[test]
fn parses_seed_message_frame_and_ignores_unknown_fields() {
    let f =
        ClientFrame::parse(r#"{"type":"message","message":"hi","session_id":"python-session-1","customer_id":"x"}"#)
            .unwrap();
    match f {
        ClientFrame::Message(m) => {
            assert_eq!(m.message, "hi");
            assert_eq!(m.session_id.as_deref(), Some("python-session-1"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn null_session_id_is_none() {
    let f = ClientFrame::parse(r#"{"type":"message","message":"hi","session_id":null}"#);
    assert!(matches!(
        f,
        Ok(ClientFrame::Message(MessageFrame { session_id: None, .. }))
    ));
}

#[test]
fn error_codes() {
    assert_eq!(ClientFrame::parse("{").unwrap_err().code, ErrorCode::InvalidJson);
    assert_eq!(ClientFrame::parse("[]").unwrap_err().code, ErrorCode::InvalidFrame);
    assert_eq!(
        ClientFrame::parse(r#"{"type":"message"}"#).unwrap_err().code,
        ErrorCode::InvalidFrame
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":"message","message":5}"#)
            .unwrap_err()
            .code,
        ErrorCode::InvalidFrame
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":"dance"}"#).unwrap_err().code,
        ErrorCode::UnknownType
    );
    assert_eq!(
        ClientFrame::parse(r#"{"type":7}"#).unwrap_err().code,
        ErrorCode::InvalidFrame
    );
}

#[test]
fn people_in_the_loop_frames() {
    assert!(matches!(
        ClientFrame::parse(r#"{"type":"read","session_id":"s","message_id":"m"}"#),
        Ok(ClientFrame::Read(_))
    ));
    assert!(matches!(
        ClientFrame::parse(r#"{"type":"presence","status":"away"}"#),
        Ok(ClientFrame::Presence(PresenceFrame {
            status: ClientPresence::Away
        }))
    ));
    // A client cannot claim to be offline, and `read` needs its message.
    for bad in [
        r#"{"type":"presence","status":"offline"}"#,
        r#"{"type":"read","session_id":"s"}"#,
    ] {
        assert_eq!(
            ClientFrame::parse(bad).unwrap_err().code,
            ErrorCode::InvalidFrame,
            "{bad}"
        );
    }
    let h = ServerFrame::Handoff {
        session_id: "s".into(),
        mode: ConversationMode::Human,
        operator: Some(OperatorInfo { name: "Ada".into() }),
    };
    let v: serde_json::Value = serde_json::from_str(&h.to_json()).unwrap();
    assert_eq!(v["type"], "handoff");
    assert_eq!(v["mode"], "human");
    assert_eq!(v["operator"]["name"], "Ada");
    let p = ServerFrame::Presence {
        actor: PresenceActor::Operator,
        status: PresenceStatus::Offline,
        last_seen_at: None,
        visitor_id: None,
        session_id: None,
    };
    let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    assert_eq!(v["actor"], "operator");
    assert!(v["last_seen_at"].is_null() && v.get("visitor_id").is_none());
}

#[test]
fn token_frame_shape() {
    let f = ServerFrame::Token {
        token: "hi".into(),
        reply_id: "r".into(),
        session_id: "s".into(),
        seq: 3,
    };
    let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(v["type"], "token");
    assert_eq!(v["seq"], 3);
}

#[test]
fn built_client_frames_parse_back_to_themselves() {
    let frames = [
        ClientFrame::Auth(AuthFrame { token: "t".into() }),
        ClientFrame::Message(MessageFrame {
            message: "hi".into(),
            session_id: Some("s".into()),
            client_id: Some("c".into()),
            bot_id: None,
        }),
        ClientFrame::Stop(StopFrame { reply_id: "r".into() }),
        ClientFrame::Regenerate(RegenerateFrame {
            session_id: "s".into(),
            client_id: Some("c".into()),
            content: Some("edited".into()),
        }),
        ClientFrame::Resume(ResumeFrame {
            reply_id: "r".into(),
            after_seq: 5,
        }),
        ClientFrame::Join(SessionFrame { session_id: "s".into() }),
        ClientFrame::Leave(SessionFrame { session_id: "s".into() }),
        ClientFrame::Typing(TypingFrame {
            session_id: "s".into(),
            is_typing: true,
        }),
        ClientFrame::Ping(PingFrame { ts: 7.into() }),
        ClientFrame::Read(ReadFrame {
            session_id: "s".into(),
            message_id: "m".into(),
        }),
        ClientFrame::Presence(PresenceFrame {
            status: ClientPresence::Away,
        }),
    ];
    for f in frames {
        assert_eq!(ClientFrame::parse(&f.to_json()), Ok(f.clone()), "{}", f.to_json());
    }
    let v: serde_json::Value = serde_json::from_str(
        &ClientFrame::Resume(ResumeFrame {
            reply_id: "r".into(),
            after_seq: 0,
        })
        .to_json(),
    )
    .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"type": "resume", "reply_id": "r", "after_seq": 0})
    );
    let plain = ClientFrame::Regenerate(RegenerateFrame {
        session_id: "s".into(),
        client_id: None,
        content: None,
    });
    assert!(!plain.to_json().contains("content"), "{}", plain.to_json());
}
