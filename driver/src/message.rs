//! One Engine.IO message, as the Engine.IO server and client hand it over.
//!
//! Floor: the bottom one (it imports nothing of the crate).

use bytes::Bytes;

/// One Engine.IO message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (Engine.IO type `4`).
    Text(String),
    /// A binary message.
    Binary(Bytes),
}
