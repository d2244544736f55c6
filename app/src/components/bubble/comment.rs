//! A rating's optional comment under a reply (contract §9.4): after a thumb,
//! a small form to say more, sent with the rating or skipped; once stored, the
//! comment shows under the reply with "Edit". The same thumb again clears the
//! rating and its comment (`DELETE`).

use leptos::prelude::*;
use protocol::feedback::MAX_COMMENT_CHARS;
use protocol::objects::Rating;

use crate::store::{Msg, Store};

/// The stored comment, or the form while it is open.
#[component]
pub fn FeedbackComment(store: Store, msg: Msg) -> impl IntoView {
    let (draft, comment, rating) = (msg.comment_draft, msg.comment, msg.feedback);
    let open = move || draft.with(Option::is_some);
    let edit_msg = msg.clone();
    let stored = move || {
        if open() {
            return None;
        }
        let text = comment.get()?;
        let m = edit_msg.clone();
        Some(view! {
            <div class="feedback-comment" data-rating=move || rating.get().map(Rating::as_str)>
                <span class="feedback-comment-text">{text}</span>
                <button type="button" class="link-btn edit-comment" on:click=move |_| store.edit_comment(&m)>"Edit"</button>
            </div>
        })
    };
    view! {
        {stored}
        <Show when=open>
            <CommentForm store msg=msg.clone()/>
        </Show>
    }
}

/// "Tell us more (optional)": a text box, Send and Skip.
#[component]
fn CommentForm(store: Store, msg: Msg) -> impl IntoView {
    let (send_msg, skip_msg) = (msg.clone(), msg.clone());
    let label = move || match msg.feedback.get() {
        Some(Rating::Down) => "What went wrong? (optional)",
        _ => "What was good? (optional)",
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        crate::actions::send_comment(store, &send_msg);
    };
    view! {
        <form class="comment-form" on:submit=submit>
            <label class="muted">
                <span>{label}</span>
                <textarea class="comment-input" rows="2" placeholder="Your comment"
                    prop:value=move || msg.comment_draft.get().unwrap_or_default()
                    on:input={
                        let msg = msg.clone();
                        move |ev| msg.type_comment(event_target_value(&ev))
                    }></textarea>
            </label>
            <span class="comment-count muted">{move || {
                let n = msg.comment_draft.with(|d| d.as_deref().map_or(0, |t| t.trim().chars().count()));
                format!("{n}/{MAX_COMMENT_CHARS}")
            }}</span>
            <span class="error" role="alert">{move || msg.comment_error.get()}</span>
            <div class="comment-actions">
                <button type="button" class="btn skip-comment" on:click=move |_| store.close_comment(&skip_msg)>"Skip"</button>
                <button type="submit" class="btn primary send-comment">"Send"</button>
            </div>
        </form>
    }
}
