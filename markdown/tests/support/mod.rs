//! Test support: a plain CommonMark HTML renderer over Brook's public events
//! (the spec's output shape: raw HTML passed through, `<img>`, every link kept),
//! used only to check the *parser* against the spec and against pulldown-cmark
//! ([`reference_html`]); the spec harness's HTML normaliser ([`normalize`],
//! `normalize.py` in cmark); and the spec files' loader.
#![allow(dead_code)]

mod normalize;
mod reference;

// Not every test file uses both.
#[allow(unused_imports)]
pub use normalize::normalize;
#[allow(unused_imports)]
pub use reference::reference_html;

/// One example of a spec file.
pub struct Example {
    pub markdown: String,
    pub html: String,
    pub number: u64,
    pub section: String,
}

pub fn load(path: &str) -> Vec<Example> {
    let p = format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).expect("spec JSON");
    v.as_array()
        .expect("an array")
        .iter()
        .map(|e| Example {
            markdown: e["markdown"].as_str().unwrap_or_default().to_string(),
            html: e["html"].as_str().unwrap_or_default().to_string(),
            number: e["example"].as_u64().unwrap_or_default(),
            section: e["section"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}
