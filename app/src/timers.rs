//! A timer future for the views and actions (browser only).

/// Resolves after `ms` milliseconds in the browser (`setTimeout`); at once
/// on the server, where nothing waits.
pub async fn sleep_ms(ms: u32) {
    #[cfg(feature = "hydrate")]
    {
        let p = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ms;
}
