//! Tests of the scheduler (a file of their own to keep scheduler.rs short).
use super::*;

fn job(id: &str) -> Job {
    Job {
        log: ReplyLog::new(id, "o", "c", "m"),
        bot: None,
        user_pos: 0,
        reply_pos: 0,
        user_content: String::new(),
        fresh: false,
        origin_conn: None,
        is_visitor: false,
        control: Control::new_arc(),
        quota: None,
        head_start: None,
    }
}

#[test]
fn queue_bound_and_reply_in_progress() {
    let s = Scheduler::new(0);
    let r = s.reserve("o", "c").unwrap();
    assert!(matches!(r.commit(job("r1")), Committed::StartWorker));
    assert_eq!(s.next("o", "c").unwrap().log.reply_id, "r1");
    for i in 0..4 {
        let r = s.reserve("o", "c").unwrap();
        assert!(matches!(r.commit(job(&format!("w{i}"))), Committed::Queued));
    }
    let e = s.reserve("o", "c").err().unwrap();
    assert_eq!(e.code, ErrorCode::ReplyInProgress);
    assert_eq!(e.reply_id.as_deref(), Some("r1"));
}

#[test]
fn four_conversations_per_identity_and_places_come_back() {
    let s = Scheduler::new(0);
    let held: Vec<_> = (0..4).map(|i| s.reserve("o", &format!("c{i}")).unwrap()).collect();
    assert_eq!(s.reserve("o", "c9").err().unwrap().code, ErrorCode::RateLimited);
    assert!(s.reserve("other", "c9").is_ok());
    drop(held);
    assert!(s.reserve("o", "c9").is_ok());
}

#[test]
fn worker_ends_when_queue_drains() {
    let s = Scheduler::new(0);
    let _ = s.reserve("o", "c").unwrap().commit(job("a"));
    assert!(s.next("o", "c").is_some());
    assert!(s.next("o", "c").is_none());
    assert_eq!(s.in_flight(), 0);
}

#[tokio::test]
async fn active_and_queued_replies_are_counted() {
    let s = Arc::new(Scheduler::new(1));
    let _ = s.reserve("o", "c").unwrap().commit(job("a"));
    let _ = s.reserve("o", "c").unwrap().commit(job("b"));
    assert_eq!(s.replies(), (0, 2), "both wait in line");
    let _a = s.next("o", "c").unwrap();
    let first = s.permit().await;
    assert_eq!(s.replies(), (1, 1));
    // A second reply (another conversation) waits for the only permit.
    let waiting = tokio::spawn({
        let s = s.clone();
        async move { s.permit().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(s.replies(), (1, 2), "waiting for a permit counts as queued");
    drop(first);
    let second = waiting.await.unwrap();
    assert_eq!(s.replies(), (1, 1));
    drop(second);
    assert_eq!(s.replies(), (0, 1));
}

fn job_at(id: &str, pos: i64) -> Job {
    Job {
        reply_pos: pos,
        ..job(id)
    }
}

#[test]
fn an_older_reply_taken_over_goes_first() {
    let s = Scheduler::new(0);
    let _ = s.reserve("o", "c").unwrap().commit(job_at("late", 9));
    let running = s.next("o", "c").unwrap();
    let _ = s.reserve("o", "c").unwrap().commit(job_at("later", 12));
    // A dead node's reply, older than both, joins the line behind them.
    let _ = s.reserve("o", "c").unwrap().commit(job_at("old", 4));
    let first = s.earlier_first(running);
    assert_eq!(first.log.reply_id, "old");
    assert_eq!(s.running("o", "c").as_deref(), Some("old"));
    assert_eq!(s.earlier_first(first).log.reply_id, "old", "nothing older waits");
    let order: Vec<_> = std::iter::from_fn(|| s.next("o", "c").map(|j| j.log.reply_id.clone())).collect();
    assert_eq!(order, ["late", "later"]);
}

#[test]
fn a_draining_node_takes_out_what_waits_and_keeps_what_runs() {
    let s = Scheduler::new(0);
    for id in ["a", "b", "c"] {
        let _ = s.reserve("o", "c1").unwrap().commit(job(id));
    }
    let _ = s.reserve("o", "c2").unwrap().commit(job("d"));
    let _running = s.next("o", "c1").unwrap();
    let mut taken: Vec<_> = s.take_waiting().into_iter().map(|j| j.log.reply_id.clone()).collect();
    taken.sort();
    assert_eq!(taken, ["b", "c", "d"]);
    assert_eq!(s.running("o", "c1").as_deref(), Some("a"));
    assert!(s.next("o", "c1").is_none() && s.next("o", "c2").is_none());
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn admission_cap() {
    let s = Scheduler::new(1);
    let _held: Vec<_> = (0..4).map(|i| s.reserve(&format!("o{i}"), "c").unwrap()).collect();
    assert_eq!(s.reserve("o9", "c").err().unwrap().code, ErrorCode::Unavailable);
}

#[test]
fn a_permit_taken_at_once_counts_and_respects_the_cap() {
    let s = Scheduler::new(1);
    let first = s.try_permit().expect("one permit is free");
    assert_eq!(s.replies(), (1, 0));
    assert!(s.try_permit().is_none(), "the cap is 1");
    drop(first);
    assert_eq!(s.replies(), (0, 0));
    assert!(s.try_permit().is_some(), "free again once dropped");
    // No cap: always one.
    let unlimited = Scheduler::new(0);
    let held: Vec<_> = (0..3).filter_map(|_| unlimited.try_permit()).collect();
    assert_eq!(held.len(), 3);
}

#[test]
fn only_the_first_place_in_an_empty_line_opens_it() {
    let s = Scheduler::new(0);
    let first = s.reserve("o", "c").unwrap();
    assert!(first.opened_line());
    let second = s.reserve("o", "c").unwrap();
    assert!(!second.opened_line(), "a send to it is being stored");
    assert!(
        s.reserve("o", "other").unwrap().opened_line(),
        "lines are per conversation"
    );
    drop(second);
    let _ = first.commit(job("r1"));
    assert!(!s.reserve("o", "c").unwrap().opened_line(), "a reply waits in it");
    let running = s.next("o", "c").unwrap();
    assert!(!s.reserve("o", "c").unwrap().opened_line(), "a reply runs in it");
    drop(running);
    assert!(s.next("o", "c").is_none());
    assert!(s.reserve("o", "c").unwrap().opened_line(), "empty again: pruned");
}
