//! The chat's building blocks.

pub mod account;
pub mod bubble;
pub mod composer;
pub mod connection;
pub mod conversation_row;
pub mod export;
pub mod messages;
pub mod sidebar;
pub mod theme_toggle;
