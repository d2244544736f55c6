//! Streaming (to do)
