//! Open connections per client IP, counted with guards (issue 11 §3).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// A counter per IP with a cap (`0`: no cap). Cheap to clone.
#[derive(Clone)]
pub struct PerIp {
    inner: Arc<Inner>,
}

struct Inner {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection (or long-lived request); dropping it gives the slot back.
pub struct IpGuard {
    inner: Arc<Inner>,
    ip: IpAddr,
}

impl PerIp {
    pub fn new(max: usize) -> PerIp {
        PerIp {
            inner: Arc::new(Inner {
                max,
                open: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A slot for `ip`, or `None` when it already holds the cap.
    pub fn try_acquire(&self, ip: IpAddr) -> Option<IpGuard> {
        let ip = canonical(ip);
        let mut open = self.inner.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if self.inner.max != 0 && *n >= self.inner.max {
            return None;
        }
        *n += 1;
        Some(IpGuard {
            inner: self.inner.clone(),
            ip,
        })
    }

    /// How many slots `ip` holds.
    pub fn open(&self, ip: IpAddr) -> usize {
        let open = self.inner.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&canonical(ip)).copied().unwrap_or(0)
    }
}

impl Drop for IpGuard {
    fn drop(&mut self) {
        let mut open = self.inner.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// An IPv4 address seen as IPv6 (`::ffff:a.b.c.d`) counts as the IPv4 address,
/// so a dual-stack listener cannot be used to double a client's allowance.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_and_gives_slots_back() {
        let p = PerIp::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let g1 = p.try_acquire(a).unwrap();
        let _g2 = p.try_acquire(a).unwrap();
        assert!(p.try_acquire(a).is_none());
        assert!(
            p.try_acquire("::ffff:10.0.0.1".parse().unwrap()).is_none(),
            "mapped IPv4 is the same client"
        );
        assert!(p.try_acquire(b).is_some());
        drop(g1);
        assert_eq!(p.open(a), 1);
        assert!(p.try_acquire(a).is_some());
        let unlimited = PerIp::new(0);
        let held: Vec<_> = (0..1000).map(|_| unlimited.try_acquire(a).unwrap()).collect();
        assert_eq!(unlimited.open(a), 1000);
        drop(held);
        assert_eq!(unlimited.open(a), 0);
    }
}
