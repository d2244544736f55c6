//! `round-robin`: the small balancer of `make run-cluster` (issue 13). A TCP
//! proxy that hands each new connection to the next node in turn, with no
//! stickiness; being below HTTP, it passes WebSocket upgrades and SSE streams
//! untouched. A node that refuses the connection is skipped for that
//! connection (the next one is tried), as nginx's `proxy_next_upstream error`.
//!
//! ```text
//! round-robin --listen 127.0.0.1:3000 --to 127.0.0.1:3001 --to 127.0.0.1:3002
//! ```
//!
//! For development on one machine only: it adds no `X-Forwarded-For` (the
//! nodes see 127.0.0.1), and it has no health checks. Production uses nginx
//! (`deploy/nginx.conf`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

struct Args {
    listen: String,
    to: Vec<String>,
}

fn usage() -> ! {
    eprintln!("usage: round-robin --listen HOST:PORT --to HOST:PORT [--to HOST:PORT ...]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut to) = (None, Vec::new());
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = Some(v),
            ("--to", Some(v)) => to.push(v),
            _ => usage(),
        }
    }
    match listen {
        Some(listen) if !to.is_empty() => Args { listen, to },
        _ => usage(),
    }
}

/// Connects to the next node in turn, trying each node at most once.
async fn next_node(nodes: &[String], turn: &AtomicUsize) -> Option<(TcpStream, usize)> {
    for _ in 0..nodes.len() {
        let i = turn.fetch_add(1, Ordering::Relaxed) % nodes.len();
        match TcpStream::connect(&nodes[i]).await {
            Ok(s) => return Some((s, i)),
            Err(e) => eprintln!("round-robin: {} refused ({e}); trying the next node", nodes[i]),
        }
    }
    None
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let listener = TcpListener::bind(&args.listen).await.unwrap_or_else(|e| {
        eprintln!("round-robin: cannot listen on {}: {e}", args.listen);
        std::process::exit(1)
    });
    eprintln!("round-robin: {} -> {}", args.listen, args.to.join(", "));
    let nodes = Arc::new(args.to);
    let turn = Arc::new(AtomicUsize::new(0));
    loop {
        let (mut inbound, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("round-robin: accept failed: {e}");
                continue;
            }
        };
        let (nodes, turn) = (nodes.clone(), turn.clone());
        tokio::spawn(async move {
            let Some((mut out, i)) = next_node(&nodes, &turn).await else {
                eprintln!("round-robin: no node answers; closing {peer}");
                return;
            };
            let _ = inbound.set_nodelay(true);
            let _ = out.set_nodelay(true);
            if std::env::var_os("ROUND_ROBIN_LOG").is_some() {
                eprintln!("round-robin: {peer} -> {}", nodes[i]);
            }
            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
        });
    }
}
