//! `.env.example` names every setting `brook` reads from the environment
//! (issue 15): each `env = "…"` of the settings (hidden test-only ones aside).

use std::path::Path;

#[test]
fn env_example_covers_every_setting() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("../.env.example")).expect(".env.example at the repository root");
    let mut sources = vec![root.join("src/config.rs")];
    for entry in std::fs::read_dir(root.join("src/config")).unwrap() {
        sources.push(entry.unwrap().path());
    }
    let mut names = Vec::new();
    for file in sources {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines().filter(|l| !l.contains("hide = true")) {
            let mut rest = line;
            while let Some(i) = rest.find("env = \"") {
                let after = &rest[i + 7..];
                let end = after.find('"').unwrap();
                names.push(after[..end].to_string());
                rest = &after[end..];
            }
        }
    }
    assert!(names.len() > 25, "the settings were found: {names:?}");
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| {
            !example
                .lines()
                .any(|l| l.trim_start_matches(['#', ' ']).starts_with(&format!("{n}=")))
        })
        .collect();
    assert!(missing.is_empty(), ".env.example lacks {missing:?}");
}
