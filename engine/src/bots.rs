//! Bots: create, edit, delete, with their widget settings (contract §5).

use protocol::objects::{Bot, Role, Theme};
use protocol::rest::BotPatch;
use protocol::ErrorCode;

use crate::auth::Identity;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ids;
use crate::store::BotRow;
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

/// Applies a patch to a bot row, checking every field.
fn apply(engine: &Engine, row: &mut BotRow, patch: &BotPatch) -> Result<()> {
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
        if !engine.config.models.iter().any(|allowed| allowed == m) {
            return Err(Error::validation(format!(
                "model: {m:?} is not offered by this server (allowed: {})",
                engine.config.models.join(", ")
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
                let Some(n) = crate::origin::normalize(o) else {
                    return Err(Error::validation(format!(
                        "widget.allowed_origins: {o:?} is not an origin like https://example.com"
                    )));
                };
                let u = url::Url::parse(o).map_err(|_| Error::validation("widget.allowed_origins: bad origin"))?;
                if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
                    return Err(Error::validation(format!(
                        "widget.allowed_origins: {o:?} must be an origin only (scheme://host[:port]), without a path"
                    )));
                }
                let _ = n;
                clean.push(o.trim_end_matches('/').to_string());
            }
            clean.dedup();
            row.allowed_origins = clean;
        }
        if let Some(t) = &w.theme {
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
        }
    }
    Ok(())
}

fn no_visitors(who: &Identity) -> Result<()> {
    if who.role == Role::Visitor {
        return Err(Error::forbidden("widget visitors cannot manage bots"));
    }
    Ok(())
}

impl Engine {
    pub async fn list_bots(&self, who: &Identity) -> Result<Vec<Bot>> {
        if who.role == Role::Visitor {
            return Ok(Vec::new());
        }
        crate::accounts::ensure_default_bot(self.store.as_ref(), &who.user_id, &self.config.model).await?;
        Ok(self
            .store
            .bots_of(&who.user_id)
            .await?
            .iter()
            .map(BotRow::to_bot)
            .collect())
    }

    /// A bot of the caller's (anything else is `NOT_FOUND`).
    pub async fn own_bot(&self, who: &Identity, id: &str) -> Result<BotRow> {
        match self.store.bot(id).await? {
            Some(b) if b.owner_id == who.user_id && who.role != Role::Visitor => Ok(b),
            _ => Err(Error::not_found("bot")),
        }
    }

    pub async fn create_bot(&self, who: &Identity, patch: &BotPatch) -> Result<Bot> {
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
            model: self.config.model.clone(),
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
        apply(self, &mut row, patch)?;
        self.store.insert_bot(&row).await?;
        self.refresh_widget_origins().await?;
        Ok(row.to_bot())
    }

    /// A visitor, like anyone else, finds no bot of its own here: `NOT_FOUND`
    /// (never `FORBIDDEN`, which would say the id exists).
    pub async fn update_bot(&self, who: &Identity, id: &str, patch: &BotPatch) -> Result<Bot> {
        let mut row = self.own_bot(who, id).await?;
        let was_enabled = row.widget_enabled;
        apply(self, &mut row, patch)?;
        row.updated_at = now_micros();
        self.store.update_bot(&row).await?;
        self.refresh_widget_origins().await?;
        if was_enabled && !row.widget_enabled {
            // Disabling the widget cuts its visitors off (issue 11 §4.5).
            self.cut_off_visitors(&row.id);
        }
        Ok(row.to_bot())
    }

    /// As [`Engine::update_bot`]: foreign, unknown or asked by a visitor → `NOT_FOUND`.
    pub async fn delete_bot(&self, who: &Identity, id: &str) -> Result<()> {
        let row = self.own_bot(who, id).await?;
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
    pub async fn create_bot_for(
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
        let bot = self.create_bot(&who, &patch).await?;
        self.store.bot(&bot.id).await?.ok_or_else(Error::internal)
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
