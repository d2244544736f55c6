//! Bots: create, edit, delete, with their widget settings (contract §5).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use protocol::objects::{Bot, Role, Theme};
use protocol::rest::BotPatch;
use protocol::ErrorCode;

use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids;
use crate::store::{BotRow, Database, StoreError};
use crate::time::now_micros;

const MAX_NAME: usize = 80;
const MAX_PROMPT: usize = 20_000;
const MAX_GREETING: usize = 2_000;
const MAX_ORIGINS: usize = 50;
const MAX_TITLE: usize = 80;

fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(Error::validation(if min > 0 {
            format!("{field}: must be {min} to {max} characters")
        } else {
            format!("{field}: must be at most {max} characters")
        }));
    }
    Ok(())
}

fn valid_color(c: &str) -> bool {
    let hex = c.strip_prefix('#').unwrap_or("");
    (hex.len() == 3 || hex.len() == 6) && hex.chars().all(|ch| ch.is_ascii_hexdigit())
}

/// Applies a patch to a bot row, checking every field; `models` are the ones
/// this server offers (`BROOK_MODELS`). Errors: `VALIDATION_ERROR` naming the field.
fn apply(models: &[String], row: &mut BotRow, patch: &BotPatch) -> Result<()> {
    if let Some(name) = &patch.name {
        let name = name.trim();
        check_len("name", name, 1, MAX_NAME)?;
        row.name = name.to_string();
    }
    if let Some(p) = &patch.system_prompt {
        check_len("system_prompt", p, 0, MAX_PROMPT)?;
        row.system_prompt = p.clone();
    }
    if let Some(m) = &patch.model {
        let m = m.trim();
        if !models.iter().any(|allowed| allowed == m) {
            return Err(Error::validation(format!(
                "model: {m:?} is not offered by this server (allowed: {})",
                models.join(", ")
            )));
        }
        row.model = m.to_string();
    }
    match patch.temperature {
        None => {}
        Some(None) => row.temperature = None,
        Some(Some(t)) => {
            if !(0.0..=2.0).contains(&t) || t.is_nan() {
                return Err(Error::validation(
                    "temperature: must be between 0 and 2, or null (unset)",
                ));
            }
            row.temperature = Some(t as f64);
        }
    }
    if let Some(g) = &patch.greeting {
        check_len("greeting", g, 0, MAX_GREETING)?;
        row.greeting = g.clone();
    }
    if let Some(w) = &patch.widget {
        if let Some(e) = w.enabled {
            row.widget_enabled = e;
        }
        if let Some(origins) = &w.allowed_origins {
            row.allowed_origins = clean_origins(origins)?;
        }
        if let Some(t) = &w.theme {
            apply_theme(row, t)?;
        }
    }
    Ok(())
}

/// `widget.allowed_origins`: at most 50, each `*` or an origin only
/// (`scheme://host[:port]`), stored without a trailing slash.
fn clean_origins(origins: &[String]) -> Result<Vec<String>> {
    if origins.len() > MAX_ORIGINS {
        return Err(Error::validation(format!(
            "widget.allowed_origins: at most {MAX_ORIGINS} origins"
        )));
    }
    let mut clean = Vec::new();
    for o in origins {
        let o = o.trim();
        if o == "*" {
            clean.push("*".to_string());
            continue;
        }
        if crate::origin::normalize(o).is_none() {
            return Err(Error::validation(format!(
                "widget.allowed_origins: {o:?} is not an origin like https://example.com"
            )));
        }
        let u = url::Url::parse(o).map_err(|_| Error::validation("widget.allowed_origins: bad origin"))?;
        if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
            return Err(Error::validation(format!(
                "widget.allowed_origins: {o:?} must be an origin only (scheme://host[:port]), without a path"
            )));
        }
        clean.push(o.trim_end_matches('/').to_string());
    }
    clean.dedup();
    Ok(clean)
}

/// `widget.theme`: a hex color, `right` or `left`, a title of at most 80 characters.
fn apply_theme(row: &mut BotRow, t: &protocol::rest::ThemePatch) -> Result<()> {
    let mut theme = row.theme.clone();
    if let Some(c) = &t.color {
        if !valid_color(c.trim()) {
            return Err(Error::validation(
                "widget.theme.color: expected a hex color such as #4f46e5",
            ));
        }
        theme.color = c.trim().to_string();
    }
    if let Some(p) = &t.position {
        if p != "right" && p != "left" {
            return Err(Error::validation("widget.theme.position: expected right or left"));
        }
        theme.position = p.clone();
    }
    if let Some(title) = &t.title {
        check_len("widget.theme.title", title, 0, MAX_TITLE)?;
        theme.title = title.clone();
    }
    row.theme = theme;
    Ok(())
}

/// A bot of the caller's (anything else, a visitor's ask included, is `NOT_FOUND`).
pub(crate) async fn own_bot(store: &dyn Database, who: &Identity, id: &str) -> Result<BotRow> {
    match store.bot(id).await? {
        Some(b) if b.owner_id == who.user_id && who.role != Role::Visitor => Ok(b),
        _ => Err(Error::not_found("bot")),
    }
}

fn no_visitors(who: &Identity) -> Result<()> {
    if who.role == Role::Visitor {
        return Err(Error::forbidden("widget visitors cannot manage bots"));
    }
    Ok(())
}

/// Bots and the widget's CORS allow-list that follows from them.
pub struct Bots {
    pub(crate) store: Arc<dyn Database>,
    pub(crate) hub: Arc<Hub>,
    /// Models this server offers (`BROOK_MODELS`).
    pub(crate) models: Vec<String>,
    /// A new bot's model (`BROOK_MODEL`).
    pub(crate) default_model: String,
    /// Normalized origins some enabled bot allows (`*` included), for CORS.
    pub(crate) widget_origins: RwLock<HashSet<String>>,
    /// When an unknown origin last made [`Bots::widget_origin_allowed_now`]
    /// reload the set (another node may have allowed it).
    reloaded_on_miss: std::sync::Mutex<Option<std::time::Instant>>,
    /// With Redis: the other nodes cut the visitors off too.
    cluster: Option<Arc<crate::cluster::Cluster>>,
}

impl Bots {
    pub(crate) fn new(
        store: Arc<dyn Database>,
        hub: Arc<Hub>,
        models: Vec<String>,
        default_model: String,
        cluster: Option<Arc<crate::cluster::Cluster>>,
    ) -> Bots {
        Bots {
            store,
            hub,
            models,
            default_model,
            cluster,
            widget_origins: RwLock::new(HashSet::new()),
            reloaded_on_miss: std::sync::Mutex::new(None),
        }
    }

    /// The bots of the caller; a visitor has none.
    pub async fn list(&self, who: &Identity) -> Result<Vec<Bot>> {
        if who.role == Role::Visitor {
            return Ok(Vec::new());
        }
        crate::accounts::ensure_default_bot(self.store.as_ref(), &who.user_id, &self.default_model).await?;
        Ok(self
            .store
            .bots_of(&who.user_id)
            .await?
            .iter()
            .map(BotRow::to_bot)
            .collect())
    }

    /// A bot of the caller's (anything else is `NOT_FOUND`).
    pub async fn own(&self, who: &Identity, id: &str) -> Result<BotRow> {
        own_bot(self.store.as_ref(), who, id).await
    }

    pub async fn create(&self, who: &Identity, patch: &BotPatch) -> Result<Bot> {
        no_visitors(who)?;
        let Some(name) = patch.name.as_deref() else {
            return Err(Error::invalid_frame("name: required"));
        };
        let now = now_micros();
        let mut row = BotRow {
            id: ids::new_id(),
            owner_id: who.user_id.clone(),
            name: name.to_string(),
            system_prompt: "You are a helpful assistant.".into(),
            model: self.default_model.clone(),
            temperature: None,
            greeting: String::new(),
            widget_enabled: false,
            public_key: ids::public_key(),
            allowed_origins: Vec::new(),
            theme: Theme::default(),
            is_default: false,
            created_at: now,
            updated_at: now,
        };
        apply(&self.models, &mut row, patch)?;
        self.store.insert_bot(&row).await?;
        self.refresh_widget_origins().await?;
        Ok(row.to_bot())
    }

    /// A visitor, like anyone else, finds no bot of its own here: `NOT_FOUND`
    /// (never `FORBIDDEN`, which would say the id exists).
    pub async fn update(&self, who: &Identity, id: &str, patch: &BotPatch) -> Result<Bot> {
        let mut row = self.own(who, id).await?;
        let was_enabled = row.widget_enabled;
        apply(&self.models, &mut row, patch)?;
        row.updated_at = now_micros();
        self.store.update_bot(&row).await?;
        self.refresh_widget_origins().await?;
        if was_enabled && !row.widget_enabled {
            // Disabling the widget cuts its visitors off (issue 11 §4.5).
            self.cut_off_visitors(&row.id);
        }
        Ok(row.to_bot())
    }

    /// As [`Bots::update`]: foreign, unknown or asked by a visitor → `NOT_FOUND`.
    pub async fn delete(&self, who: &Identity, id: &str) -> Result<()> {
        let row = self.own(who, id).await?;
        if row.is_default {
            return Err(Error::new(ErrorCode::Conflict, "the default bot cannot be deleted"));
        }
        self.store.delete_bot(&who.user_id, id).await?;
        self.refresh_widget_origins().await?;
        self.cut_off_visitors(id);
        Ok(())
    }

    /// `brook bot create`: a bot for an account, with the widget enabled for the
    /// given origins.
    pub async fn create_for(
        &self,
        owner_email: &str,
        name: &str,
        system_prompt: Option<&str>,
        model: Option<&str>,
        allowed_origins: &[String],
    ) -> Result<BotRow> {
        let user = self
            .store
            .user_by_email(&owner_email.trim().to_lowercase())
            .await?
            .ok_or_else(|| Error::not_found("account"))?;
        let who = Identity {
            user_id: user.id.clone(),
            role: user.role,
            bot_id: None,
            jti: String::new(),
            exp: 0,
        };
        let patch = BotPatch {
            name: Some(name.to_string()),
            system_prompt: system_prompt.map(str::to_string),
            model: model.map(str::to_string),
            temperature: None,
            greeting: None,
            widget: Some(protocol::rest::BotWidgetPatch {
                enabled: Some(!allowed_origins.is_empty()),
                allowed_origins: Some(allowed_origins.to_vec()),
                theme: None,
            }),
        };
        let bot = self.create(&who, &patch).await?;
        self.store.bot(&bot.id).await?.ok_or_else(Error::internal)
    }

    /// Rebuilds the CORS allow-list after a bot's widget settings change.
    pub async fn refresh_widget_origins(&self) -> std::result::Result<(), StoreError> {
        let mut set = HashSet::new();
        for bot in self.store.widget_bots().await? {
            for o in &bot.allowed_origins {
                if o == "*" {
                    set.insert("*".to_string());
                } else if let Some(n) = crate::origin::normalize(o) {
                    set.insert(n);
                }
            }
        }
        if let Ok(mut w) = self.widget_origins.write() {
            *w = set;
        }
        Ok(())
    }

    /// [`Bots::widget_origin_allowed`], reloading the set from storage when
    /// `origin` is not in it (at most once a second): with several nodes, the bot
    /// that allows it may have been created or changed on another node.
    pub async fn widget_origin_allowed_now(&self, origin: &str) -> bool {
        if self.widget_origin_allowed(origin) {
            return true;
        }
        {
            let mut last = self.reloaded_on_miss.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
                return false;
            }
            *last = Some(std::time::Instant::now());
        }
        if let Err(e) = self.refresh_widget_origins().await {
            tracing::warn!(error = %e, "widget origins could not be reloaded");
            return false;
        }
        self.widget_origin_allowed(origin)
    }

    /// Whether some enabled bot allows `origin` (CORS preflights).
    pub fn widget_origin_allowed(&self, origin: &str) -> bool {
        let Ok(w) = self.widget_origins.read() else {
            return false;
        };
        w.contains("*") || crate::origin::normalize(origin).is_some_and(|n| w.contains(&n))
    }

    /// Closes the open streams of every visitor of `bot_id`, after the bot was
    /// deleted or its widget disabled. Their later calls get `NOT_FOUND` from
    /// [`crate::admission::Admission::admitted`].
    pub fn cut_off_visitors(&self, bot_id: &str) {
        let closed = self.hub.registry.cut_bot_visitors(bot_id);
        tracing::info!(bot_id, closed, "bot's visitors cut off");
        if let Some(c) = &self.cluster {
            c.publish_bot_closed(bot_id);
        }
    }

    /// A bot by id, whoever owns it (the widget's public reads).
    pub async fn by_id(&self, id: &str) -> Result<Option<BotRow>> {
        Ok(self.store.bot(id).await?)
    }

    /// A bot by its public widget key.
    pub async fn by_key(&self, key: &str) -> Result<Option<BotRow>> {
        Ok(self.store.bot_by_key(key).await?)
    }

    /// The caller's bots as stored (the default one is made on first need by [`Self::list`]).
    pub async fn rows_of(&self, who: &Identity) -> Result<Vec<BotRow>> {
        Ok(self.store.bots_of(&who.user_id).await?)
    }

    /// Every bot of the deployment (`brook bot list`).
    pub async fn all(&self) -> Result<Vec<BotRow>> {
        Ok(self.store.all_bots().await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn colors() {
        assert!(super::valid_color("#fff"));
        assert!(super::valid_color("#4f46e5"));
        assert!(!super::valid_color("red"));
        assert!(!super::valid_color("#12345"));
    }
}
