//! The `brook` command line against a temporary database.

use std::process::Command;

fn brook(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(args)
        .env("DATABASE_URL", db)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("BROOK_PROVIDER")
        .env("BROOK_LOG_FORMAT", "text")
        .output()
        .expect("run brook");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn cli_commands_work_against_a_temporary_database() {
    let dir = std::env::temp_dir().join(format!("brook-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("cli.db").display());

    let (ok, out, err) = brook(&db, &["migrate"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = brook(&db, &["user", "create", "--email", "owner@example.com", "--password", "s3cret-pass", "--name", "Owner"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("owner@example.com"), "{out}");
    let (ok, _, err) = brook(&db, &["user", "create", "--email", "owner@example.com", "--password", "s3cret-pass"]);
    assert!(!ok, "a duplicate account is refused");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");

    let (ok, token, err) = brook(&db, &["token", "--email", "owner@example.com"]);
    assert!(ok, "{err}");
    assert_eq!(token.trim().split('.').count(), 3, "a JWT: {token}");

    let (ok, out, err) = brook(&db, &["bot", "create", "--owner", "owner@example.com", "--name", "Helper", "--allowed-origin", "https://shop.example"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("pk_"), "public key printed: {out}");
    assert!(out.contains("<script") && out.contains("widget.js") && out.contains("data-bot-key=\"pk_"), "snippet printed: {out}");

    let (ok, out, _) = brook(&db, &["bot", "list"]);
    assert!(ok);
    assert!(out.contains("Helper") && out.contains("owner@example.com"), "{out}");

    let (ok, _, err) = brook(&db, &["bot", "create", "--owner", "nobody@example.com", "--name", "X"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_configuration_is_one_clear_line() {
    for (args, env, needle) in [
        (vec!["--addr", "nonsense"], None, "LEPTOS_SITE_ADDR"),
        (vec![], Some(("DATABASE_URL", "ftp://x")), "DATABASE_URL"),
        (vec![], Some(("BROOK_PROVIDER", "skynet")), "BROOK_PROVIDER"),
        (vec!["serve"], Some(("BROOK_MAX_MESSAGE_CHARS", "lots")), "BROOK_MAX_MESSAGE_CHARS"),
    ] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_brook"));
        c.args(&args).env_remove("OPENAI_API_KEY").env_remove("OPENAI_BASE_URL");
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
