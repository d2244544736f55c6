//! A burst of sends arriving together (issue 16's "1,000 at once"): each gets
//! its own answer — stored, a duplicate of its `client_id`, refused for
//! naming another bot, or failed on a taken reply id — exactly as if it had been
//! stored alone, and a refused or failed send keeps nothing.

use std::collections::HashMap;

use crate::both_backends;
use crate::helpers::*;
use engine::store::{ExchangeOutcome, NewExchange, StoreError};

both_backends!(a_burst_keeps_every_answer);

/// How many sends arrive at once.
const BURST: usize = 300;

fn exchange(owner: &str, bot: &str, conversation: &str, client_id: &str) -> NewExchange {
    NewExchange {
        owner_id: owner.to_string(),
        conversation_id: conversation.to_string(),
        bot_id: bot.to_string(),
        requested_bot_id: None,
        title: "t".into(),
        user_message_id: engine::ids::new_id(),
        reply_id: engine::ids::new_id(),
        content: format!("from {client_id}"),
        client_id: Some(client_id.to_string()),
        preview: "p".into(),
        now: engine::time::now_micros(),
    }
}

/// What each kind of send must get back.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// A new message: stored.
    Fresh,
    /// The second of two sends with one `client_id`: one of the pair is stored,
    /// the other answered with it as a duplicate.
    Twin,
    /// Names another bot than its conversation's: refused, nothing kept.
    WrongBot,
    /// Its reply's id is taken: that send fails alone, and nothing of it is kept.
    Clash,
}

fn kind_of(i: usize) -> Kind {
    match i % 10 {
        3 => Kind::Twin,
        5 => Kind::Clash,
        7 => Kind::WrongBot,
        _ => Kind::Fresh,
    }
}

async fn a_burst_keeps_every_answer(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (_, owner) = app.register("burst@example.com").await;
    let bot = engine::accounts::ensure_default_bot(app.engine.store().as_ref(), &owner, "m")
        .await
        .unwrap();
    let store = app.engine.store().clone();
    // The conversation that WrongBot sends name another bot for.
    let first = store
        .begin_exchange(&exchange(&owner, &bot.id, "settled", "settled-0"))
        .await
        .unwrap();
    let ExchangeOutcome::Stored {
        conversation,
        reply: taken,
        ..
    } = first
    else {
        panic!("first exchange not stored: {first:?}")
    };

    let mut tasks = Vec::new();
    for i in 0..BURST {
        let kind = kind_of(i);
        let mut x = match kind {
            Kind::Fresh => exchange(&owner, &bot.id, &format!("burst-{}", i % 7), &format!("c-{i}")),
            Kind::Twin => exchange(&owner, &bot.id, &format!("burst-{}", i % 7), &format!("c-{}", i - 1)),
            Kind::WrongBot => exchange(&owner, &bot.id, "settled", &format!("c-{i}")),
            Kind::Clash => NewExchange {
                reply_id: taken.id.clone(),
                ..exchange(&owner, &bot.id, &format!("burst-{}", i % 7), &format!("c-{i}"))
            },
        };
        if kind == Kind::WrongBot {
            x.requested_bot_id = Some("another-bot".into());
        }
        let store = store.clone();
        tasks.push(tokio::spawn(async move { (i, kind, store.begin_exchange(&x).await) }));
    }
    let mut stored_users: HashMap<String, String> = HashMap::new();
    let mut duplicates = Vec::new();
    for t in tasks {
        let (i, kind, outcome) = t.await.unwrap();
        match (kind, outcome) {
            (Kind::WrongBot, Ok(ExchangeOutcome::BotMismatch { bot_id })) => assert_eq!(bot_id, bot.id),
            (Kind::Clash, Err(StoreError::Conflict(_))) => {}
            (Kind::Fresh | Kind::Twin, Ok(ExchangeOutcome::Stored { user, .. })) => {
                let cid = user.client_id.clone().unwrap();
                assert!(
                    stored_users.insert(cid, user.id).is_none(),
                    "one client_id stored twice"
                );
            }
            (Kind::Fresh | Kind::Twin, Ok(ExchangeOutcome::Duplicate { user })) => {
                duplicates.push((user.client_id.clone().unwrap(), user.id))
            }
            (kind, other) => panic!("send {i} ({kind:?}) answered {other:?}"),
        }
    }
    let twins = (0..BURST).filter(|i| kind_of(*i) == Kind::Twin).count();
    let fresh = (0..BURST).filter(|i| kind_of(*i) == Kind::Fresh).count();
    assert_eq!(stored_users.len(), fresh, "each client_id stored once");
    assert_eq!(duplicates.len(), twins, "the other send of each pair is a duplicate");
    for (cid, user_id) in &duplicates {
        assert_eq!(
            stored_users.get(cid),
            Some(user_id),
            "a duplicate names the stored message"
        );
    }

    // What is stored agrees: every fresh send's message and its reply, and
    // nothing of a refused send.
    let mut total = 0;
    for c in 0..7 {
        let msgs = store
            .messages(&owner, &format!("burst-{c}"), 10_000, None)
            .await
            .unwrap();
        let replies = msgs.iter().filter(|m| m.in_reply_to.is_some()).count();
        assert_eq!(replies * 2, msgs.len(), "each stored message has its queued reply");
        total += msgs.len();
    }
    assert_eq!(
        total,
        fresh * 2,
        "every stored send has its message and its queued reply"
    );
    let settled = store.messages(&owner, "settled", 10_000, None).await.unwrap();
    assert_eq!(settled.len(), 2, "a refused send keeps nothing");
    let after = store.conversation(&owner, "settled").await.unwrap().unwrap();
    assert_eq!(
        after.updated_at, conversation.updated_at,
        "a refused send does not touch its conversation"
    );
}
