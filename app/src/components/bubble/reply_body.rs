//! An assistant bubble's body: the question an earlier version answered, the
//! reply's markdown, and the thinking indicator until the first token.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::render_plan::{How, Rendered};
use super::reply_html::ReplyHtml;
use super::shown::with_shown;
use crate::store::{earlier_prompt, Msg};

/// The reply's markdown as safe HTML (raw HTML from the model is escaped,
/// never executed). The first HTML is the whole text's, as the server renders
/// it (hydration agrees); after that an effect keeps the element up to date
/// through [`ReplyHtml`]: a streaming reply costs the same per token however
/// long it is (issue 12).
#[component]
pub fn ReplyBody(msg: Msg) -> impl IntoView {
    // The question an earlier version answered, when it was edited since.
    let prompt = {
        let msg = msg.clone();
        move || {
            let i = msg.version_at.get()?;
            msg.versions
                .with(|v| v.get(i).and_then(earlier_prompt).map(str::to_string))
        }
    };
    let md = NodeRef::<leptos::html::Div>::new();
    let (first_html, first) = untrack(|| {
        with_shown(&msg, |source, text| {
            (markdown::to_html(text), Rendered::new(source, How::Whole, text))
        })
    });
    let mut first = Some(first);
    let live_msg = msg.clone();
    // The element is read once, on the first run (the row is alive then); the
    // state lives in the effect (issue 17, fault 2: nothing of the row later).
    Effect::new(move |state: Option<Option<ReplyHtml>>| {
        let live = live_msg.status.get().is_live();
        let mut state = state.flatten().or_else(|| {
            let el = md.get_untracked()?.unchecked_into::<web_sys::Element>();
            Some(ReplyHtml::new(el, first.take()?))
        });
        with_shown(&live_msg, |source, text| {
            if let Some(s) = state.as_mut() {
                s.show(source, live, text);
            }
        });
        state
    });
    view! {
        {move || prompt().map(|p| view! {
            <p class="earlier-prompt">"Answer to an earlier wording: “"{p}"”"</p>
        })}
        <div class="md" node_ref=md inner_html=first_html></div>
        <Show when=move || msg.thinking.get()>
            <div class="thinking" aria-label="Thinking"><span></span><span></span><span></span></div>
        </Show>
    }
}
