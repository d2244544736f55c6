//! Browser-side calls to the REST API (mutations), with JSON bodies so that the
//! cookie's CSRF rule (JSON + same origin) is met.

use gloo_net::http::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An API error as the contract shapes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Failure {
    fn network(e: impl std::fmt::Display) -> Self {
        Failure {
            status: 0,
            code: "NETWORK".into(),
            message: format!("Could not reach the server ({e})."),
        }
    }
}

async fn call<B: Serialize, R: DeserializeOwned>(
    method: Method,
    url: &str,
    body: Option<&B>,
) -> Result<Option<R>, Failure> {
    let is_get = method == Method::GET;
    let req = RequestBuilder::new(url).method(method);
    let res = if is_get {
        // A GET carries no body (the browser refuses one).
        req.build().map_err(Failure::network)?.send().await
    } else {
        let req = req.header("Content-Type", "application/json");
        let req = match body {
            Some(b) => req.json(b).map_err(Failure::network)?,
            None => req.body("{}").map_err(Failure::network)?,
        };
        req.send().await
    };
    let res = res.map_err(Failure::network)?;
    let status = res.status();
    if status == 204 {
        return Ok(None);
    }
    let text = res.text().await.map_err(Failure::network)?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text).map(Some).map_err(Failure::network);
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Err(Failure {
        status,
        code: v["code"].as_str().unwrap_or("ERROR").to_string(),
        message: v["error"].as_str().unwrap_or("Something went wrong.").to_string(),
    })
}

/// A read with the session cookie: the JSON answer, or the contract's error.
pub async fn get<R: DeserializeOwned>(url: &str) -> Result<Option<R>, Failure> {
    call::<(), R>(Method::GET, url, None).await
}

pub async fn post<B: Serialize, R: DeserializeOwned>(url: &str, body: &B) -> Result<Option<R>, Failure> {
    call(Method::POST, url, Some(body)).await
}

pub async fn put<B: Serialize, R: DeserializeOwned>(url: &str, body: &B) -> Result<Option<R>, Failure> {
    call(Method::PUT, url, Some(body)).await
}

pub async fn patch<B: Serialize, R: DeserializeOwned>(url: &str, body: &B) -> Result<Option<R>, Failure> {
    call(Method::PATCH, url, Some(body)).await
}

pub async fn delete(url: &str) -> Result<(), Failure> {
    call::<(), serde_json::Value>(Method::DELETE, url, None)
        .await
        .map(|_| ())
}
