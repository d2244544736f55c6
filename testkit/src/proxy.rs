//! A TCP proxy a test can cut and restore: it stands between Brook and a real
//! service (PostgreSQL, Redis) to simulate that service going down and coming
//! back, without touching the service itself (it is shared by every test on
//! the machine).
//!
//! While cut, every open connection is dropped at once (both sockets closed,
//! as when the server process dies) and each new connection is accepted and
//! closed before a byte passes (the client sees an EOF during its handshake,
//! as from a server that is shutting down). Bytes are relayed with
//! [`tokio::io::copy_bidirectional`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

pub struct TcpProxy {
    port: u16,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    accept: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on `127.0.0.1:0` and relays each connection to `target`
    /// (`host:port`).
    ///
    /// # Panics
    /// When no local port can be bound (a test setup failure).
    pub async fn start(target: impl Into<String>) -> TcpProxy {
        let target = target.into();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a local port");
        let port = listener.local_addr().expect("bound address").port();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (is_cut, open) = (cut.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    drop(inbound); // closed before a byte passes
                    continue;
                }
                let target = target.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
                open.retain(|h| !h.is_finished());
                open.push(relay.abort_handle());
            }
        });
        TcpProxy {
            port,
            cut,
            conns,
            accept,
        }
    }

    /// The local port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Drops every open connection and refuses new ones until [`restore`](Self::restore).
    /// Returns how many open connections were dropped.
    pub fn cut(&self) -> usize {
        self.cut.store(true, Ordering::SeqCst);
        let mut open = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let live = open.iter().filter(|h| !h.is_finished()).count();
        for h in open.drain(..) {
            h.abort();
        }
        live
    }

    /// Lets new connections through again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Whether the proxy is cut.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An echo server to stand behind the proxy.
    async fn echo() -> String {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(addr: &str) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn relays_cuts_and_restores() {
        let proxy = TcpProxy::start(echo().await).await;
        assert_eq!(round_trip(&proxy.addr()).await.unwrap(), b"ping");

        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        open.write_all(b"x").await.unwrap();
        let mut one = [0u8; 1];
        open.read_exact(&mut one).await.unwrap();
        assert!(proxy.cut() >= 1, "the open connection is dropped");
        let mut rest = Vec::new();
        let n = open.read_to_end(&mut rest).await.unwrap_or(0);
        assert_eq!(n, 0, "the dropped connection ends");
        assert!(round_trip(&proxy.addr()).await.is_err(), "new ones are refused");

        proxy.restore();
        assert_eq!(round_trip(&proxy.addr()).await.unwrap(), b"ping");
    }
}
