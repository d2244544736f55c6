//! The CLI's subcommands other than `serve`.

use std::time::Duration;

use engine::accounts::Accounts;
use engine::config::ProviderKind;
use engine::store::{self, BotRow, Database};
use engine::Config;

use crate::cli::{BotCommand, UserCommand};

pub type CmdResult = Result<(), String>;

async fn open(config: &Config) -> Result<std::sync::Arc<dyn Database>, String> {
    store::connect(&config.database_url).await.map_err(|e| e.to_string())
}

/// The paste-able widget tag for a bot (contract §7).
pub fn snippet(public_url: &str, bot: &BotRow) -> String {
    format!(
        "<script src=\"{}/widget.js\" data-bot-key=\"{}\" async></script>",
        public_url.trim_end_matches('/'),
        bot.public_key
    )
}

pub fn public_url(config: &Config) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.addr))
}

pub async fn migrate(config: &Config) -> CmdResult {
    let s = open(config).await?;
    s.close().await;
    println!(
        "migrations applied to {}",
        engine::config::redact_url(&config.database_url)
    );
    Ok(())
}

pub async fn user(config: &Config, cmd: UserCommand) -> CmdResult {
    let s = open(config).await?;
    let accounts = Accounts::load(s.clone(), config.jwt_secret.as_deref(), &config.model)
        .await
        .map_err(|e| e.message)?;
    match cmd {
        UserCommand::Create { email, password, name } => {
            let user = accounts
                .create_user(&email, &password, name.as_deref())
                .await
                .map_err(|e| e.message)?;
            println!("created user {} <{}>", user.id, user.email.unwrap_or_default());
        }
    }
    s.close().await;
    Ok(())
}

pub async fn token(config: &Config, email: &str) -> CmdResult {
    let s = open(config).await?;
    let accounts = Accounts::load(s.clone(), config.jwt_secret.as_deref(), &config.model)
        .await
        .map_err(|e| e.message)?;
    let t = accounts.token_for_email(email).await.map_err(|e| e.message)?;
    println!("{t}");
    s.close().await;
    Ok(())
}

pub async fn bot(config: &Config, cmd: BotCommand) -> CmdResult {
    let engine = engine::Engine::start(config.clone()).await.map_err(|e| e.to_string())?;
    let result = match cmd {
        BotCommand::Create {
            owner,
            name,
            system_prompt,
            model,
            allowed_origin,
        } => {
            let bot = engine
                .bots
                .create_for(
                    &owner,
                    &name,
                    system_prompt.as_deref(),
                    model.as_deref(),
                    &allowed_origin,
                )
                .await
                .map_err(|e| e.message)?;
            println!("bot id:      {}", bot.id);
            println!("public key:  {}", bot.public_key);
            println!(
                "widget:      {}",
                if bot.widget_enabled {
                    "enabled"
                } else {
                    "disabled (no --allowed-origin)"
                }
            );
            println!("allowed:     {}", bot.allowed_origins.join(", "));
            println!();
            println!("Paste this into your site's HTML:");
            println!("{}", snippet(&public_url(config), &bot));
            Ok(())
        }
        BotCommand::List => {
            let bots = engine.bots.all().await.map_err(|e| e.to_string())?;
            println!("{:<38} {:<24} {:<30} {:<8} PUBLIC KEY", "ID", "NAME", "OWNER", "WIDGET");
            for b in bots {
                let owner = engine
                    .store()
                    .user_by_id(&b.owner_id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|u| u.email)
                    .unwrap_or_else(|| "(guest)".into());
                println!(
                    "{:<38} {:<24} {:<30} {:<8} {}",
                    b.id,
                    b.name,
                    owner,
                    if b.widget_enabled { "on" } else { "off" },
                    b.public_key
                );
            }
            Ok(())
        }
    };
    engine.store().close().await;
    result
}

/// `brook doctor`: checks every dependency and says in plain words what is wrong.
pub async fn doctor(config: &Config) -> CmdResult {
    let mut failed = 0;
    let mut report = |ok: bool, what: &str, detail: String| {
        if !ok {
            failed += 1;
        }
        println!("{} {what}: {detail}", if ok { "ok  " } else { "FAIL" });
    };

    match tokio::time::timeout(Duration::from_secs(10), store::connect(&config.database_url)).await {
        Ok(Ok(s)) => {
            let ping = s.ping().await;
            report(
                ping.is_ok(),
                "database",
                format!("{} ({})", engine::config::redact_url(&config.database_url), s.backend()),
            );
            s.close().await;
        }
        Ok(Err(e)) => report(
            false,
            "database",
            format!("{e}. Check DATABASE_URL and that the server is running."),
        ),
        Err(_) => report(false, "database", "no answer within 10 s".into()),
    }

    match &config.redis_url {
        None => println!("ok   redis: not configured (single node)"),
        Some(url) => match engine::redis_ping::ping(url).await {
            Ok(()) => report(true, "redis", engine::config::redact_url(url)),
            Err(e) => report(false, "redis", format!("{e}. Check REDIS_URL.")),
        },
    }

    match config.provider {
        ProviderKind::Demo => println!(
            "ok   model provider: the built-in demo model (offline). Set OPENAI_API_KEY or OPENAI_BASE_URL to use a real model."
        ),
        ProviderKind::OpenAi => {
            let provider = engine::provider::openai::OpenAiProvider::new(&config.openai_base_url, config.openai_api_key.as_deref());
            match tokio::time::timeout(Duration::from_secs(15), provider.client().models().list()).await {
                Err(_) => report(false, "provider", format!("{} did not answer within 15 s", config.openai_base_url)),
                Ok(Err(e)) => report(
                    false,
                    "provider",
                    explain(&engine::provider::openai::operator_detail(&e), &config.openai_base_url),
                ),
                Ok(Ok(list)) => {
                    let names: Vec<String> = list.data.iter().map(|m| m.id.clone()).collect();
                    report(true, "provider", format!("{} lists {} models", config.openai_base_url, names.len()));
                    for m in &config.models {
                        report(
                            names.is_empty() || names.contains(m),
                            "model",
                            if names.contains(m) || names.is_empty() {
                                format!("{m} is available")
                            } else {
                                format!("{m} is not offered by the provider (it offers: {})", names.join(", "))
                            },
                        );
                    }
                }
            }
            let first = tokio::time::timeout(Duration::from_secs(30), provider.probe(&config.model)).await;
            match first {
                Ok(Ok(_)) => report(true, "completion", format!("{} streams tokens", config.model)),
                Ok(Err(e)) => report(false, "completion", explain(&e, &config.openai_base_url)),
                Err(_) => report(false, "completion", "no first token within 30 s".into()),
            }
        }
    }
    if failed > 0 {
        Err(format!("{failed} check(s) failed"))
    } else {
        println!("everything looks good");
        Ok(())
    }
}

fn explain(error: &str, base: &str) -> String {
    let lower = error.to_lowercase();
    let unknown_model = ["not found", "does not exist", "unknown model", "no such model"];
    let hint = if lower.contains("cannot reach") || lower.contains("connect") || lower.contains("dns") {
        "the host is unreachable: check OPENAI_BASE_URL and the network"
    } else if lower.contains("401") || lower.contains("invalid api key") || lower.contains("incorrect api key") {
        "the API key was refused: check OPENAI_API_KEY"
    } else if lower.contains("404") || unknown_model.iter().any(|w| lower.contains(w)) {
        "the model is unknown to the provider: check BROOK_MODEL"
    } else {
        "see the error above"
    };
    format!("{error} ({hint}; base URL {base})")
}
