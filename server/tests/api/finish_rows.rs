//! A finished reply's rows come back from the finish's own transaction (issue
//! 16: `message_added` after `complete` no longer reads the reply back). They
//! must be exactly what a read after the commit returns, on both paths: SQLite's
//! group commit and PostgreSQL's sqlx transaction.

use crate::both_backends;
use crate::helpers::*;
use engine::store::{ExchangeOutcome, FinishedReply, NewExchange, NewRegenerate, RegenerateOutcome};
use protocol::objects::MessageStatus;

both_backends!(a_finish_returns_what_a_read_returns);

async fn a_finish_returns_what_a_read_returns(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (_, owner) = app.register("finish-rows@example.com").await;
    let store = app.engine.store().clone();
    let bot = engine::accounts::ensure_default_bot(store.as_ref(), &owner, "m")
        .await
        .unwrap();
    let conversation = engine::ids::new_id();
    let x = NewExchange {
        owner_id: owner.clone(),
        conversation_id: conversation.clone(),
        bot_id: bot.id.clone(),
        requested_bot_id: None,
        title: "t".into(),
        user_message_id: engine::ids::new_id(),
        reply_id: engine::ids::new_id(),
        content: "hello".into(),
        client_id: Some("finish-rows-1".into()),
        preview: "hello".into(),
        now: engine::time::now_micros(),
    };
    let ExchangeOutcome::Stored { reply: first, .. } = store.begin_exchange(&x).await.unwrap() else {
        panic!("the exchange was not stored")
    };
    // A second version, so that `version` and `versions` are not the defaults.
    let redo = NewRegenerate {
        owner_id: owner.clone(),
        conversation_id: conversation.clone(),
        reply_id: engine::ids::new_id(),
        client_id: None,
        edit: None,
        now: engine::time::now_micros(),
    };
    let RegenerateOutcome::Stored { reply: second, .. } = store.begin_regenerate(&redo).await.unwrap() else {
        panic!("the regenerate was not stored")
    };
    for (reply, status) in [(&first, MessageStatus::Stopped), (&second, MessageStatus::Complete)] {
        let f = FinishedReply {
            reply_id: reply.id.clone(),
            owner_id: owner.clone(),
            conversation_id: conversation.clone(),
            content: format!("the answer of {}", reply.id),
            status,
            metadata: serde_json::json!({ "finish_reason": "stop", "usage": { "total_tokens": 7 } }),
            seq: 5,
            now: engine::time::now_micros(),
            preview: Some("the answer".into()),
        };
        let rows = store.finish_reply(&f).await.unwrap().expect("the conversation exists");
        let read = store.message(&reply.id).await.unwrap().expect("the reply is stored");
        assert_eq!(rows.reply, read, "the finish's reply row is what a read returns");
        assert_eq!(rows.reply.status, status);
        assert_eq!(rows.reply.finished_at, Some(f.now));
        assert!(
            rows.reply.metadata.contains("in_reply_to"),
            "merged over the stored metadata"
        );
        let conv = store.conversation(&owner, &conversation).await.unwrap().unwrap();
        assert_eq!(
            rows.conversation, conv,
            "the finish's conversation is what a read returns"
        );
    }
    assert_eq!((first.version, second.version), (1, 2));

    // The conversation deleted while the reply ran: nothing to announce.
    store.delete_conversation(&owner, &conversation).await.unwrap();
    let gone = FinishedReply {
        reply_id: second.id.clone(),
        owner_id: owner.clone(),
        conversation_id: conversation.clone(),
        content: "late".into(),
        status: MessageStatus::Complete,
        metadata: serde_json::json!({}),
        seq: 6,
        now: engine::time::now_micros(),
        preview: None,
    };
    assert!(store.finish_reply(&gone).await.unwrap().is_none());
}
