//! The open packet's JSON. The reference server writes exactly five keys,
//! in this order: sid, upgrades, pingInterval, pingTimeout, maxPayload.

use alloc::string::String;
use alloc::vec::Vec;

use super::packet::DecodeError;

/// What the server tells a new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The session id.
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` for a polling
    /// session, `[]` for a WebSocket one).
    pub upgrades: Vec<String>,
    /// Milliseconds between server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// Most bytes the server takes in one message or payload.
    pub max_payload: u64,
}

impl Handshake {
    /// The JSON text, keys in the reference order, compact.
    pub fn to_json(&self) -> String {
        todo!()
    }

    /// Parses the JSON of an open packet (client side). Unknown keys are ignored.
    pub fn from_json(json: &str) -> Result<Handshake, DecodeError> {
        let _ = json;
        todo!()
    }
}
