//! A response body that holds its request's [`InFlight`] guard (and, behind a
//! trusted proxy, the forwarded client's per-IP slot) until the body ends or is
//! dropped, so a streaming response counts as a request in flight for its whole
//! life: the idle time-out and the shedding of idle connections never touch it.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};

use super::per_ip::IpGuard;
use super::table::InFlight;

pub struct GuardedBody {
    inner: Body,
    _in_flight: Option<InFlight>,
    _slot: Option<IpGuard>,
}

impl GuardedBody {
    pub fn new(inner: Body, in_flight: Option<InFlight>, slot: Option<IpGuard>) -> GuardedBody {
        GuardedBody {
            inner,
            _in_flight: in_flight,
            _slot: slot,
        }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        // `Body` is `Unpin` (a boxed body inside).
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
