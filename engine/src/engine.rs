//! [`Engine`]: everything a request needs, built once at start-up and shared by
//! the Axum handlers and the Leptos server functions.

use std::sync::Arc;

use crate::config::Config;
use crate::store::{self, Store, StoreError};

pub struct Engine {
    pub config: Config,
    pub store: Arc<dyn Store>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

impl Engine {
    /// Opens storage (applying migrations) and prepares the runtime.
    pub async fn start(config: Config) -> Result<Arc<Engine>, StartError> {
        let store = store::connect(&config.database_url).await?;
        Ok(Arc::new(Engine { config, store }))
    }
}
