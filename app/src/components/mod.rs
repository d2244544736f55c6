//! The chat's building blocks.

pub mod bubble;
pub mod composer;
pub mod connection;
pub mod export;
pub mod messages;
pub mod sidebar;
pub mod theme_toggle;
