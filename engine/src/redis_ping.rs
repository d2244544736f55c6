//! A minimal Redis health check (`PING` over RESP) for `/ready` and `brook doctor`,
//! so that readiness does not pull in a whole client before multi-node mode needs one.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum RedisPingError {
    #[error("REDIS_URL is not a redis:// URL")]
    BadUrl,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("unexpected answer: {0}")]
    Answer(String),
    #[error("timed out")]
    Timeout,
}

pub async fn ping(url: &str) -> Result<(), RedisPingError> {
    let u = url::Url::parse(url).map_err(|_| RedisPingError::BadUrl)?;
    if u.scheme() != "redis" {
        return Err(RedisPingError::BadUrl);
    }
    let host = u.host_str().ok_or(RedisPingError::BadUrl)?.to_string();
    let port = u.port().unwrap_or(6379);
    let password = u.password().map(str::to_string);
    let user = u.username().to_string();
    let work = async move {
        let mut s = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| RedisPingError::Connect(e.to_string()))?;
        let mut cmd = Vec::new();
        if let Some(pw) = password {
            if user.is_empty() {
                cmd.extend(format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{}\r\n", pw.len(), pw).bytes());
            } else {
                cmd.extend(
                    format!(
                        "*3\r\n$4\r\nAUTH\r\n${}\r\n{}\r\n${}\r\n{}\r\n",
                        user.len(),
                        user,
                        pw.len(),
                        pw
                    )
                    .bytes(),
                );
            }
        }
        cmd.extend(b"*1\r\n$4\r\nPING\r\n");
        s.write_all(&cmd)
            .await
            .map_err(|e| RedisPingError::Connect(e.to_string()))?;
        let mut buf = vec![0u8; 256];
        let mut got = String::new();
        while !got.contains("PONG") {
            let n = s
                .read(&mut buf)
                .await
                .map_err(|e| RedisPingError::Connect(e.to_string()))?;
            if n == 0 {
                break;
            }
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
            if got.starts_with('-') {
                break;
            }
        }
        if got.contains("+PONG") {
            Ok(())
        } else {
            Err(RedisPingError::Answer(got.trim().to_string()))
        }
    };
    tokio::time::timeout(Duration::from_secs(3), work)
        .await
        .map_err(|_| RedisPingError::Timeout)?
}
