//! Host-side tests of the reply assembler (`cargo test -p brook-webclient`).

use super::*;

fn tok(seq: u64) -> String {
    format!("t{seq} ")
}

fn text_upto(n: u64) -> String {
    (1..=n).map(tok).collect()
}

#[test]
fn tokens_in_order_build_the_text() {
    let mut a = Assembler::new();
    a.expect("r");
    for s in 1..=5 {
        assert_eq!(a.token("r", s, &tok(s)), Verdict::Accepted);
    }
    assert_eq!(a.text("r"), Some(text_upto(5).as_str()));
    assert_eq!(a.seq("r"), 5);
    assert!(a.is_live("r"));
}

#[test]
fn duplicates_are_dropped() {
    let mut a = Assembler::new();
    a.show("r", 3, &text_upto(3), true);
    for s in [1, 2, 3, 3] {
        assert_eq!(a.token("r", s, "x"), Verdict::Duplicate, "seq {s}");
    }
    assert_eq!(a.token("r", 4, &tok(4)), Verdict::Accepted);
    assert_eq!(a.token("r", 4, &tok(4)), Verdict::Duplicate);
    assert_eq!(a.text("r"), Some(text_upto(4).as_str()));
}

#[test]
fn a_gap_asks_one_resume_and_never_loops() {
    let mut a = Assembler::new();
    a.show("r", 2, &text_upto(2), true);
    // Tokens 3 and 4 were lost; 5, 6, 7 arrive from the old subscription.
    assert_eq!(a.token("r", 5, &tok(5)), Verdict::Gap { resume_after: 2 });
    assert_eq!(a.token("r", 6, &tok(6)), Verdict::Awaiting);
    assert_eq!(a.token("r", 7, &tok(7)), Verdict::Awaiting);
    // Opening the conversation again would resume too: already on its way.
    assert_eq!(a.resume("r"), None);
    // The resume's answer: (2, current], then live.
    for s in 3..=9 {
        assert_eq!(a.token("r", s, &tok(s)), Verdict::Accepted, "seq {s}");
    }
    assert_eq!(a.text("r"), Some(text_upto(9).as_str()));
    // A later, separate gap asks again (once).
    assert_eq!(a.token("r", 12, &tok(12)), Verdict::Gap { resume_after: 9 });
    assert_eq!(a.token("r", 13, &tok(13)), Verdict::Awaiting);
}

#[test]
fn a_page_that_dropped_its_text_resumes_from_what_it_shows() {
    let mut a = Assembler::new();
    a.expect("r");
    for s in 1..=8 {
        a.token("r", s, &tok(s));
    }
    // The user switched away and back: the history page knows seq 5 only.
    a.show("r", 5, &text_upto(5), true);
    assert_eq!(a.resume("r"), Some(5));
    assert_eq!(a.resume("r"), None, "one resume per position");
    // Live tokens still in flight from before the resume are held back.
    assert_eq!(a.token("r", 9, &tok(9)), Verdict::Awaiting);
    for s in 6..=10 {
        assert_eq!(a.token("r", s, &tok(s)), Verdict::Accepted);
    }
    assert_eq!(a.text("r"), Some(text_upto(10).as_str()));
}

#[test]
fn a_reconnection_resends_every_live_resume() {
    let mut a = Assembler::new();
    a.show("done", 4, &text_upto(4), false);
    a.show("r1", 3, &text_upto(3), true);
    a.expect("r2");
    assert_eq!(a.token("r1", 6, "x"), Verdict::Gap { resume_after: 3 });
    // The connection dropped before the answer: the resume is asked again.
    let mut again = a.reconnected();
    again.sort();
    assert_eq!(again, vec![("r1".to_string(), 3), ("r2".to_string(), 0)]);
    assert_eq!(a.token("r1", 7, "x"), Verdict::Awaiting);
}

#[test]
fn a_stop_during_a_resume_ends_with_the_complete_text() {
    let mut a = Assembler::new();
    a.show("r", 3, &text_upto(3), true);
    assert_eq!(a.reconnected(), vec![("r".to_string(), 3)]);
    // The user stops; `complete` (stopped) overtakes the resume's tokens.
    a.token("r", 4, &tok(4));
    a.complete("r", &text_upto(5));
    assert!(!a.is_live("r"));
    for s in 5..=6 {
        assert_eq!(a.token("r", s, &tok(s)), Verdict::Duplicate);
    }
    // The resume's own `complete` comes again: same final text.
    a.complete("r", &text_upto(5));
    assert_eq!(a.text("r"), Some(text_upto(5).as_str()));
    assert_eq!(a.resume("r"), None);
    assert!(a.reconnected().is_empty());
}

#[test]
fn complete_is_the_final_text() {
    let mut a = Assembler::new();
    a.expect("r");
    a.token("r", 1, "partial");
    a.complete("r", "the whole reply");
    assert_eq!(a.text("r"), Some("the whole reply"));
    // A complete for a reply never seen still records its text.
    a.complete("other", "hello");
    assert_eq!(a.text("other"), Some("hello"));
}

#[test]
fn regenerate_replaces_the_last_reply() {
    let mut a = Assembler::new();
    a.show("old", 2, &text_upto(2), true);
    // The regenerated reply's ack: the old one is no longer shown.
    a.forget("old");
    a.expect("new");
    assert_eq!(a.token("old", 3, "late"), Verdict::Duplicate);
    assert_eq!(a.resume("old"), None);
    assert_eq!(a.token("new", 1, "fresh"), Verdict::Accepted);
    assert_eq!(a.text("new"), Some("fresh"));
    assert_eq!(a.reconnected(), vec![("new".to_string(), 1)]);
}

#[test]
fn an_unknown_reply_starts_at_zero() {
    let mut a = Assembler::new();
    assert_eq!(a.token("r", 1, "a"), Verdict::Accepted);
    let mut b = Assembler::new();
    assert_eq!(b.token("r", 4, "d"), Verdict::Gap { resume_after: 0 });
}

/// A tiny deterministic generator (no `rand` in this crate).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A server that follows contract §3.3, and a page that is away at random
/// (another conversation is open, so it drops the reply's tokens) and comes
/// back from a history page that may lag what it showed, while tokens from
/// before are still in flight. The text always ends whole, each absence costs
/// at most one `resume`, and there is no `resume` without an absence.
#[test]
fn random_absences_always_end_whole_with_one_resume_each() {
    const N: u64 = 300;
    for round in 0..300u64 {
        let mut rng = Lcg(round + 1);
        let mut a = Assembler::new();
        a.expect("r");
        // What is on the wire towards the page, in order (a WebSocket loses nothing).
        let mut wire = std::collections::VecDeque::new();
        let (mut produced, mut resumes, mut absences, mut steps) = (0, 0, 0, 0);
        let mut away = false;
        while a.seq("r") < N {
            steps += 1;
            assert!(steps < 100_000, "round {round} stalled at {}", a.seq("r"));
            if produced < N && rng.below(3) > 0 {
                produced += 1;
                wire.push_back(produced);
            }
            if rng.below(40) == 0 {
                away = !away;
                if away {
                    absences += 1;
                } else {
                    // Back, from a history page whose checkpoint may lag (or not).
                    let seq = a.seq("r");
                    let lag = rng.below(seq + 1);
                    a.show("r", seq - lag, &text_upto(seq - lag), true);
                    if let Some(after) = a.resume("r") {
                        resumes += 1;
                        wire.extend(after + 1..=produced);
                    }
                }
            }
            // A socket delivers in bursts: up to 30 frames per step.
            for _ in 0..rng.below(30) {
                let Some(seq) = wire.pop_front() else { break };
                if away {
                    continue;
                }
                match a.token("r", seq, &tok(seq)) {
                    Verdict::Gap { resume_after } => {
                        resumes += 1;
                        // `resume` replaces the subscription: what was queued before it
                        // still arrives, then (after, produced], then live.
                        wire.extend(resume_after + 1..=produced);
                    }
                    Verdict::Accepted | Verdict::Awaiting | Verdict::Duplicate => {}
                }
                assert!(
                    resumes <= absences,
                    "round {round}: {resumes} resumes, {absences} absences"
                );
            }
        }
        assert_eq!(a.text("r"), Some(text_upto(N).as_str()), "round {round}");
    }
}
