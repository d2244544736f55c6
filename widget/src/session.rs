//! The visitor's session: its token (asked for at start, refreshed when it
//! expires), its conversation (kept in `localStorage` under a key scoped to
//! the bot, contract §7), and the conversation's history.

use js_sys::Object;
use wasm_bindgen::prelude::*;
use web_sys::ShadowRoot;
use webclient::js;

use crate::{md, view, Widget, W};
use protocol::names::paths;

fn opt(o: &JsValue, k: &str) -> String {
    o.dyn_ref::<Object>()
        .and_then(|o| js::get_str(o, k))
        .unwrap_or_default()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// A new id (`crypto.randomUUID()`).
pub(crate) fn uuid() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("{}", js::now_ms() as u64))
}

/// What the loader and the bot say about the widget's looks.
struct Looks {
    title: String,
    color: String,
    position: String,
    greeting: String,
}

/// The data attributes win over the bot's theme; the title falls back to the bot's name.
fn looks(opts: &JsValue, answer: &Object) -> Looks {
    let bot = js::get(answer, "bot");
    let bot = bot.dyn_ref::<Object>().cloned().unwrap_or_default();
    let name = js::get_str(&bot, "name").unwrap_or_else(|| "Chat".into());
    let theme = js::get(&bot, "theme").dyn_into::<Object>().unwrap_or_default();
    let pick = |attr: String, theme_key: &str| {
        if attr.is_empty() {
            js::get_str(&theme, theme_key).unwrap_or_default()
        } else {
            attr
        }
    };
    let title = pick(opt(opts, "title"), "title");
    Looks {
        title: if title.is_empty() { name } else { title },
        color: pick(opt(opts, "color"), "color"),
        position: pick(opt(opts, "position"), "position"),
        greeting: js::get_str(&bot, "greeting").unwrap_or_default(),
    }
}

/// `POST /api/v1/widget/session` with the bot's key and the previous token
/// if any: the answer (`token`, `visitor_id`, `bot`), or `None` when refused.
async fn ask_session(host: &str, bot_key: &str, prev_token: Option<&str>) -> Option<Object> {
    let body = Object::new();
    js::set(&body, "bot_key", &JsValue::from_str(bot_key));
    if let Some(t) = prev_token {
        js::set(&body, "token", &JsValue::from_str(t));
    }
    let (status, text) = js::fetch(
        "POST",
        &format!("{host}{}", paths::WIDGET_SESSION),
        Some(&js::stringify(&body)),
        Some(""),
    )
    .await;
    js::parse(&text).filter(|_| status == 200)
}

pub(crate) async fn init(root: ShadowRoot, host: String, opts: JsValue) {
    let bot_key = opt(&opts, "botKey");
    let key = format!("brook:{bot_key}");
    // The visitor's previous token (never its id alone) brings it back.
    let saved = storage()
        .and_then(|s| s.get_item(&key).ok().flatten())
        .and_then(|t| js::parse(&t));
    let prev_token = saved.as_ref().and_then(|o| js::get_str(o, "token"));
    let Some(answer) = ask_session(&host, &bot_key, prev_token.as_deref()).await else {
        web_sys::console::warn_1(&JsValue::from_str(
            "Brook widget: this site may not use this bot (its widget is off, or this origin is not in its allowed origins).",
        ));
        return;
    };
    let token = js::get_str(&answer, "token").unwrap_or_default();
    let visitor_id = js::get_str(&answer, "visitor_id").unwrap_or_default();
    // Same visitor: keep its conversation; a new visitor starts a new one.
    let same = saved
        .as_ref()
        .filter(|o| js::get_str(o, "visitor_id").as_deref() == Some(visitor_id.as_str()));
    let session = same.and_then(|o| js::get_str(o, "session")).unwrap_or_else(uuid);
    let exists = same.is_some_and(|o| js::get(o, "exists").as_bool() == Some(true));
    let l = looks(&opts, &answer);

    let w = std::rc::Rc::new(view::build(&root, host, bot_key, key, &l.title, &l.color, &l.position));
    {
        let mut st = w.st.borrow_mut();
        st.token = token;
        st.visitor_id = visitor_id;
        st.session = session;
        st.exists = exists;
    }
    w.save();
    W.with(|x| *x.borrow_mut() = Some(w.clone()));
    if !l.greeting.is_empty() {
        let b = w.bubble("assistant");
        md::render(&b, &l.greeting);
    }
    w.load_history().await;
    if exists {
        w.load_unread().await;
    }
    w.connect();
    Widget::watch_visibility();
    w.watch_thumbs();
    if opts
        .dyn_ref::<Object>()
        .is_some_and(|o| js::get(o, "open").as_bool() == Some(true))
    {
        w.set_open(true);
    }
}

impl Widget {
    pub(crate) fn save(&self) {
        let st = self.st.borrow();
        let o = Object::new();
        js::set(&o, "token", &JsValue::from_str(&st.token));
        js::set(&o, "visitor_id", &JsValue::from_str(&st.visitor_id));
        js::set(&o, "session", &JsValue::from_str(&st.session));
        js::set(&o, "exists", &JsValue::from_bool(st.exists));
        if let Some(s) = storage() {
            let _ = s.set_item(&self.key, &js::stringify(&o));
        }
    }

    pub(crate) async fn load_history(&self) {
        let (session, token, exists) = {
            let st = self.st.borrow();
            (st.session.clone(), st.token.clone(), st.exists)
        };
        // A conversation this visitor never started: nothing to ask for (and no
        // 404 in the host page's console).
        if !exists {
            return;
        }
        let url = format!(
            "{}/api/v1/conversations/{}/messages?limit=50",
            self.host,
            js::encode(&session)
        );
        let (status, text) = js::fetch("GET", &url, None, Some(&token)).await;
        if status != 200 {
            return;
        }
        self.st.borrow_mut().exists = true;
        let Some(page) = js::parse(&text) else { return };
        let Ok(list) = js::get(&page, "messages").dyn_into::<js_sys::Array>() else {
            return;
        };
        for m in list.iter() {
            if let Ok(m) = m.dyn_into::<Object>() {
                self.show_stored(&m);
            }
        }
        self.scroll();
    }

    /// One message of the history.
    fn show_stored(&self, m: &Object) {
        let role = js::get_str(m, "role").unwrap_or_default();
        let content = js::get_str(m, "content").unwrap_or_default();
        let id = js::get_str(m, "id").unwrap_or_default();
        if role == "user" {
            let b = self.bubble("user");
            let _ = b.set_attribute("data-message-id", &id);
            b.set_text_content(Some(&content));
            if !js::get(m, "read_at").is_null() && !js::get(m, "read_at").is_undefined() {
                self.mark_seen(&id);
            }
        } else if role == "operator" {
            self.operator_bubble(m);
        } else {
            let status = js::get_str(m, "status").unwrap_or_default();
            let live = status == "queued" || status == "streaming";
            let seq = js::get_f64(&js::get(m, "metadata").dyn_into::<Object>().unwrap_or_default(), "seq")
                .unwrap_or(0.0) as u64;
            let b = self.reply(&id);
            md::render(&b, &content);
            self.st.borrow_mut().assembler.show(&id, seq, &content, live);
            if !live {
                self.add_thumbs(&b, m);
            }
        }
    }

    /// An expired token: get a fresh one for the same visitor, then reconnect.
    pub(crate) async fn refresh_token(&self) {
        let token = self.st.borrow().token.clone();
        let Some(a) = ask_session(&self.host, &self.bot_key, Some(&token)).await else {
            return;
        };
        self.st.borrow_mut().token = js::get_str(&a, "token").unwrap_or_default();
        self.save();
        if let Some(c) = self.client.borrow_mut().take() {
            c.stop();
        }
        self.connect();
    }
}
