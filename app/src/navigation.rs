//! Every change of the address bar or of the open conversation goes through
//! the Leptos router (issue 17, fault 1): code outside a route (the store, the
//! live connection's callbacks) asks by setting [`crate::store::Store::go_to`],
//! and [`FollowNavigation`], mounted once inside the `<Router>`, navigates.
//! Nothing calls `history.replaceState` behind the router's back, so the
//! router always knows the page left `/?new`, and "+ New chat" works every time.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

/// A navigation request: a path of Brook's own, and whether it replaces the
/// current history entry (a new chat getting its id) or adds one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Go {
    pub path: String,
    pub replace: bool,
}

impl Go {
    /// Replaces the current entry: `/?new` becomes `/c/{id}` when the chat is sent.
    pub fn replace(path: String) -> Go {
        Go { path, replace: true }
    }
}

/// Performs the navigation requests set in `go_to` (the store's
/// [`crate::store::Store::go_to`]); browser only: effects do not run on the
/// server. Renders nothing.
#[component]
pub fn FollowNavigation(go_to: RwSignal<Option<Go>>) -> impl IntoView {
    let navigate = use_navigate();
    Effect::new(move |_| {
        let Some(go) = go_to.get() else {
            return;
        };
        go_to.set(None);
        navigate(
            &go.path,
            NavigateOptions {
                replace: go.replace,
                scroll: false,
                ..Default::default()
            },
        );
    });
}
