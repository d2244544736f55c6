//! A warning logged at most once per interval, with how many were held back, so
//! that a flood (`accept: Too many open files`, refused connections) costs one
//! log line per interval, not one per event.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LogEvery {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    held_back: AtomicU64,
}

impl LogEvery {
    pub const fn new(interval: Duration) -> LogEvery {
        LogEvery {
            interval,
            last: Mutex::new(None),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line is due now (`n` events were held back since the
    /// last one), `None` when this event only counts.
    pub fn due(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(t) if now.duration_since(t) < self.interval => {
                self.held_back.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.held_back.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval() {
        let l = LogEvery::new(Duration::from_secs(3600));
        assert_eq!(l.due(), Some(0));
        for _ in 0..1000 {
            assert_eq!(l.due(), None);
        }
        let l = LogEvery::new(Duration::ZERO);
        assert_eq!(l.due(), Some(0));
        assert_eq!(l.due(), Some(0));
    }
}
