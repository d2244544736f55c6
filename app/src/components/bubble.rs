//! One message bubble. Assistant text is markdown, rendered to safe HTML (raw
//! HTML from the model is escaped, never executed) at a cost per token that
//! does not grow with the reply ([`reply_body`]); the bubble shows a thinking
//! indicator until the first token, stop while streaming, regenerate on the last
//! reply, edit on the last user message, and the reply's metadata on hover or
//! focus ([`foot`], [`actions`]).

mod actions;
mod comment;
mod foot;
mod render_plan;
mod reply_body;
mod reply_html;
mod shown;
mod streamed;
mod user_body;

use leptos::prelude::*;
use protocol::objects::MessageRole;

use crate::store::{Delivery, Msg, Store};
use comment::FeedbackComment;
use foot::MsgFoot;
use reply_body::ReplyBody;
pub use streamed::StreamedMarkdown;
use user_body::UserBody;

/// One message bubble.
///
/// Every closure here reads only the store's signals and the bubble's own
/// (owned by the store, see `store::BubbleOwners`), never a value created by
/// the list or the row: when a route change disposes the list, a row's effects
/// can still run once more, and a value of the list would be gone by then
/// (issue 17, fault 2).
#[component]
pub fn Bubble(store: Store, msg: Msg) -> impl IntoView {
    let role = msg.role;
    let streaming = move || msg.status.get().is_live();
    let id = move || msg.id.get().unwrap_or_default();
    let delivery = move || match msg.delivery.get() {
        Delivery::Pending => "pending",
        Delivery::Sent => "sent",
        Delivery::Failed => "failed",
    };
    let body = if role == MessageRole::Assistant {
        view! { <ReplyBody msg=msg.clone()/> }.into_any()
    } else {
        view! { <UserBody store msg=msg.clone()/> }.into_any()
    };
    view! {
        <article class="msg" class:user=role == MessageRole::User class:assistant=role == MessageRole::Assistant
            data-role=role.as_str()
            data-message-id=id
            data-streaming=move || streaming().then_some("true")
            data-delivery=move || (role == MessageRole::User).then(delivery)
            data-status=move || msg.status.get().as_str()>
            <div class="bubble">{body}</div>
            <MsgFoot store msg=msg.clone()/>
            <FeedbackComment store msg=msg.clone()/>
        </article>
    }
}
