//! Streaming (placeholder until written).
pub struct StreamRenderer;
impl StreamRenderer { pub fn new() -> Self { StreamRenderer } pub fn push(&mut self, _t: &str) {} }
