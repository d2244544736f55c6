//! Small helpers over `js_sys`/`web_sys`.

use js_sys::{Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCredentials, RequestInit, Response};

pub fn parse(text: &str) -> Option<Object> {
    JSON::parse(text).ok()?.dyn_into::<Object>().ok()
}

pub fn get_str(o: &Object, key: &str) -> Option<String> {
    Reflect::get(o, &JsValue::from_str(key)).ok()?.as_string()
}

pub fn get_f64(o: &Object, key: &str) -> Option<f64> {
    Reflect::get(o, &JsValue::from_str(key)).ok()?.as_f64()
}

pub fn get(o: &Object, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn set(o: &Object, key: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

pub fn stringify(v: &JsValue) -> String {
    JSON::stringify(v).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = JsFuture::from(p).await;
}

/// A fetch with a JSON body (or none); returns (status, body text). Network
/// failures are status 0. `token`: `None` sends the page's own cookies
/// (same-origin); `Some` sends no cookies, and a bearer header unless empty.
pub async fn fetch(method: &str, url: &str, body: Option<&str>, token: Option<&str>) -> (u16, String) {
    let Some(w) = window() else {
        return (0, String::new());
    };
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().ok();
    if let Some(h) = &headers {
        if body.is_some() {
            let _ = h.set("Content-Type", "application/json");
        }
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            let _ = h.set("Authorization", &format!("Bearer {t}"));
        }
        init.set_headers(h);
    }
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(b));
    }
    // The app authenticates with its same-origin cookie; the widget with its token.
    init.set_credentials(if token.is_some() {
        RequestCredentials::Omit
    } else {
        RequestCredentials::SameOrigin
    });
    let Ok(resp) = JsFuture::from(w.fetch_with_str_and_init(url, &init)).await else {
        return (0, String::new());
    };
    let Ok(resp) = resp.dyn_into::<Response>() else {
        return (0, String::new());
    };
    let status = resp.status();
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    (status, text)
}

/// `encodeURIComponent`.
pub fn encode(s: &str) -> String {
    js_sys::encode_uri_component(s).as_string().unwrap_or_default()
}
