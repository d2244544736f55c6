//! The `brook` command line against a temporary database.

use std::process::Command;

fn brook(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(args)
        .env("DATABASE_URL", db)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("BROOK_PROVIDER")
        .env_remove("BROOK_MODEL")
        .env_remove("BROOK_MODELS")
        .env("BROOK_LOG_FORMAT", "text")
        .output()
        .expect("run brook");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn cli_commands_work_against_a_temporary_database() {
    let dir = std::env::temp_dir().join(format!("brook-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("cli.db").display());

    let (ok, out, err) = brook(&db, &["migrate"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = brook(
        &db,
        &[
            "user",
            "create",
            "--email",
            "owner@example.com",
            "--password",
            "s3cret-pass",
            "--name",
            "Owner",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("owner@example.com"), "{out}");
    let (ok, _, err) = brook(
        &db,
        &[
            "user",
            "create",
            "--email",
            "owner@example.com",
            "--password",
            "s3cret-pass",
        ],
    );
    assert!(!ok, "a duplicate account is refused");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");

    let (ok, token, err) = brook(&db, &["token", "--email", "owner@example.com"]);
    assert!(ok, "{err}");
    assert_eq!(token.trim().split('.').count(), 3, "a JWT: {token}");

    bot_commands(&db);
    let _ = std::fs::remove_dir_all(dir);
}

/// `bot create` (with its snippet and the model allow-list) and `bot list`.
fn bot_commands(db: &str) {
    let (ok, out, err) = brook(
        db,
        &[
            "bot",
            "create",
            "--owner",
            "owner@example.com",
            "--name",
            "Helper",
            "--allowed-origin",
            "https://shop.example",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("pk_"), "public key printed: {out}");
    assert!(
        out.contains("<script") && out.contains("widget.js") && out.contains("data-bot-key=\"pk_"),
        "snippet printed: {out}"
    );

    let (ok, out, _) = brook(db, &["bot", "list"]);
    assert!(ok);
    assert!(out.contains("Helper") && out.contains("owner@example.com"), "{out}");

    let (ok, _, err) = brook(db, &["bot", "create", "--owner", "nobody@example.com", "--name", "X"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
    // `--model` is the bot's, checked against the allow-list like the API's.
    let (ok, out, err) = brook(
        db,
        &[
            "bot",
            "create",
            "--owner",
            "owner@example.com",
            "--name",
            "Y",
            "--model",
            "nope",
        ],
    );
    assert!(!ok, "{out}");
    assert!(err.contains("model") && err.contains("nope"), "{err}");
    let (ok, out, err) = brook(
        db,
        &[
            "bot",
            "create",
            "--owner",
            "owner@example.com",
            "--name",
            "Z",
            "--model",
            "gpt-4o-mini",
        ],
    );
    assert!(ok, "{out}{err}");
}

#[test]
fn bad_configuration_is_one_clear_line() {
    for (args, env, needle) in [
        (vec!["--addr", "nonsense"], None, "LEPTOS_SITE_ADDR"),
        (vec![], Some(("DATABASE_URL", "ftp://x")), "DATABASE_URL"),
        (vec![], Some(("BROOK_PROVIDER", "skynet")), "BROOK_PROVIDER"),
        (
            vec!["serve"],
            Some(("BROOK_MAX_MESSAGE_CHARS", "lots")),
            "BROOK_MAX_MESSAGE_CHARS",
        ),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_says_what_works_and_what_does_not() {
    let upstream = testkit::FakeUpstream::start().await;
    let dir = std::env::temp_dir().join(format!("brook-doctor-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("d.db").display());
    let run = |base: String, model: &'static str| {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_brook"))
                .arg("doctor")
                .env("DATABASE_URL", db)
                .env("OPENAI_BASE_URL", base)
                .env("OPENAI_API_KEY", "k")
                .env("BROOK_MODEL", model)
                .env_remove("BROOK_PROVIDER")
                .env_remove("BROOK_MODELS")
                .env_remove("REDIS_URL")
                .output()
                .unwrap()
        })
    };
    let ok = run(upstream.base_url(), "gpt-4o-mini").await.unwrap();
    let text = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(ok.status.success(), "{text}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(
        text.contains("ok   database") && text.contains("ok   completion"),
        "{text}"
    );
    // An unknown model and an unreachable host are named in plain words.
    let bad_model = run(upstream.base_url(), "no-such-model").await.unwrap();
    let text = String::from_utf8_lossy(&bad_model.stdout).to_string();
    assert!(!bad_model.status.success());
    assert!(text.contains("FAIL model") && text.contains("no-such-model"), "{text}");
    let down = run("http://127.0.0.1:9/v1".into(), "gpt-4o-mini").await.unwrap();
    let text = String::from_utf8_lossy(&down.stdout).to_string();
    assert!(!down.status.success());
    assert!(text.contains("FAIL provider"), "{text}");
    assert!(text.contains("the host is unreachable"), "{text}");
    assert!(!text.contains("unknown to the provider"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Issue 11 §4.10: a `BROOK_JWT_SECRET` shorter than 32 bytes is served, with
/// a warning at start-up; one of 32 bytes or more starts without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_jwt_secret_is_warned_about_at_start_up() {
    use tokio::io::AsyncReadExt;
    let dir = std::env::temp_dir().join(format!("brook-secret-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for (secret, warned) in [
        ("short secret", true),
        ("a secret of forty bytes, long enough!!!!", false),
    ] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_brook"))
            .arg("serve")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join(format!("{warned}.db")).display()),
            )
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("BROOK_JWT_SECRET", secret)
            .env("BROOK_PROVIDER", "demo")
            .env("BROOK_LOG_FORMAT", "text")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("brook starts");
        let mut up = false;
        for _ in 0..200 {
            if reqwest::get(format!("http://127.0.0.1:{port}/health")).await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).await.unwrap();
        assert!(up, "serves with the secret {secret:?}: {err}");
        assert_eq!(err.contains("shorter than 32 bytes"), warned, "{secret:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
