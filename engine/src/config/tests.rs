//! The configuration's parsing: defaults, bad values, provider rules.

use super::*;

fn settings() -> Settings {
    Settings::default()
}

#[test]
fn defaults_are_the_contracts() {
    let c = Config::from_settings(&settings()).unwrap();
    assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
    assert_eq!(c.provider, ProviderKind::Demo);
    assert_eq!(c.database_url, "sqlite://brook.db");
    assert_eq!(c.models, vec!["gpt-4o-mini".to_string()]);
    assert_eq!(c.max_message_chars, 16000);
}

#[test]
fn a_host_name_is_a_listen_address() {
    let mut s = settings();
    s.addr = Some("localhost:3999".into());
    let c = Config::from_settings(&s).unwrap();
    assert_eq!(c.addr.port(), 3999);
    assert!(c.addr.ip().is_loopback(), "{}", c.addr);
    for bad in ["localhost", "localhost:http", ":3000"] {
        s.addr = Some(bad.into());
        assert!(Config::from_settings(&s).is_err(), "{bad}");
    }
}

#[test]
fn bad_values_name_the_variable_and_value() {
    let mut s = settings();
    s.addr = Some("nonsense".into());
    let e = Config::from_settings(&s).unwrap_err().to_string();
    assert!(e.contains("LEPTOS_SITE_ADDR") && e.contains("nonsense"), "{e}");

    let mut s = settings();
    s.database_url = Some("ftp://x".into());
    let e = Config::from_settings(&s).unwrap_err().to_string();
    assert!(e.contains("DATABASE_URL") && e.contains("ftp://x"), "{e}");

    let mut s = settings();
    s.provider = Some("skynet".into());
    let e = Config::from_settings(&s).unwrap_err().to_string();
    assert!(e.contains("BROOK_PROVIDER") && e.contains("skynet"), "{e}");

    let mut s = settings();
    s.rate_limit_per_min = Some("-3".into());
    let e = Config::from_settings(&s).unwrap_err().to_string();
    assert!(e.contains("BROOK_RATE_LIMIT_PER_MIN") && e.contains("-3"), "{e}");
}

#[test]
fn provider_inference_and_key_rules() {
    let mut s = settings();
    s.openai_base_url = Some("http://127.0.0.1:11434/v1".into());
    let c = Config::from_settings(&s).unwrap();
    assert_eq!(c.provider, ProviderKind::OpenAi);
    assert!(c.openai_api_key.is_none());

    let mut s = settings();
    s.provider = Some("openai".into());
    let e = Config::from_settings(&s).unwrap_err().to_string();
    assert!(e.contains("OPENAI_API_KEY"), "{e}");

    let mut s = settings();
    s.openai_base_url = Some("not a url".into());
    let e = Config::from_settings(&s).unwrap_err().to_string();
    assert!(e.contains("OPENAI_BASE_URL"), "{e}");
}

#[test]
fn models_allow_list_contains_default() {
    let mut s = settings();
    s.model = Some("a".into());
    s.models = Some("b, c".into());
    let c = Config::from_settings(&s).unwrap();
    assert_eq!(c.models, vec!["a", "b", "c"]);
}

#[test]
fn redacts_passwords() {
    assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
}

#[test]
fn a_redis_prefix_with_a_hash_tag_is_refused() {
    let mut s = settings();
    s.redis_prefix = Some("brook{x}:".into());
    let e = Config::from_settings(&s).unwrap_err().to_string();
    assert!(e.contains("BROOK_REDIS_PREFIX") && e.contains("brook{x}:"), "{e}");
    s.redis_prefix = Some("team-a:".into());
    assert_eq!(Config::from_settings(&s).unwrap().redis_prefix, "team-a:");
}
