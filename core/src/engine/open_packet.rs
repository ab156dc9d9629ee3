//! The open packet's JSON. The reference server writes exactly five keys,
//! in this order: sid, upgrades, pingInterval, pingTimeout, maxPayload.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::packet::DecodeError;

/// The open packet (`0{...}`): what the server tells a new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPacket {
    /// The session id.
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` for a polling
    /// session, `[]` for a WebSocket one).
    pub upgrades: Vec<String>,
    /// Milliseconds between server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// Most bytes the server takes in one message or payload. `0` when the
    /// server did not say (servers before engine.io 6.1 omit the key); the
    /// reference client then puts no bound on its payloads.
    pub max_payload: u64,
}

/// The wire form for writing: field order is key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenJsonOut<'a> {
    sid: &'a str,
    upgrades: &'a [String],
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: u64,
}

/// The wire form for reading; unknown keys are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenJsonIn {
    sid: String,
    upgrades: Vec<String>,
    ping_interval: u64,
    ping_timeout: u64,
    #[serde(default)]
    max_payload: u64,
}

impl OpenPacket {
    /// The JSON text, keys in the reference order, compact.
    pub fn to_json(&self) -> String {
        let wire = OpenJsonOut {
            sid: &self.sid,
            upgrades: &self.upgrades,
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            max_payload: self.max_payload,
        };
        // Strings, a list of strings and integers always serialize; the
        // fallback is unreachable.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses the JSON of an open packet (client side). Unknown keys are
    /// ignored; a missing `sid`, `upgrades`, `pingInterval` or `pingTimeout`
    /// is [`DecodeError::InvalidHandshake`]. A missing `maxPayload` reads as
    /// `0` (no bound), as the reference client treats it.
    pub fn from_json(json: &str) -> Result<OpenPacket, DecodeError> {
        let wire: OpenJsonIn =
            serde_json::from_str(json).map_err(|_| DecodeError::InvalidHandshake)?;
        Ok(OpenPacket {
            sid: wire.sid,
            upgrades: wire.upgrades,
            ping_interval: wire.ping_interval,
            ping_timeout: wire.ping_timeout,
            max_payload: wire.max_payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::borrow::ToOwned;
    use alloc::vec;

    fn handshake(sid: &str, upgrades: &[&str]) -> OpenPacket {
        OpenPacket {
            sid: sid.to_owned(),
            upgrades: upgrades.iter().map(|&name| name.to_owned()).collect(),
            ping_interval: 25000,
            ping_timeout: 20000,
            max_payload: 1_000_000,
        }
    }

    #[test]
    fn writes_keys_in_reference_order() {
        let json = handshake("abc", &[]).to_json();
        assert_eq!(
            json,
            r#"{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
    }

    #[test]
    fn escapes_strings() {
        let json = handshake("a\"b\\c\n\u{1}", &["web\"socket"]).to_json();
        assert_eq!(
            json,
            r#"{"sid":"a\"b\\c\n\u0001","upgrades":["web\"socket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        assert_eq!(
            OpenPacket::from_json(&json),
            Ok(handshake("a\"b\\c\n\u{1}", &["web\"socket"]))
        );
    }

    #[test]
    fn reads_in_any_order_and_ignores_unknown_keys() {
        let json = r#"{"maxPayload":1000000,"extra":{"deep":[1,2]},"pingTimeout":20000,
            "pingInterval":25000,"upgrades":["websocket"],"sid":"xyz"}"#;
        assert_eq!(
            OpenPacket::from_json(json),
            Ok(handshake("xyz", &["websocket"]))
        );
    }

    #[test]
    fn missing_max_payload_reads_as_no_bound() {
        let json = r#"{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":2}"#;
        let parsed = OpenPacket::from_json(json).map(|open| open.max_payload);
        assert_eq!(parsed, Ok(0));
    }

    #[test]
    fn missing_or_mistyped_fields_fail() {
        let bad = vec![
            "",
            "{}",
            "[]",
            "null",
            r#"{"upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"s","pingInterval":1,"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"s","upgrades":[],"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"s","upgrades":[],"pingInterval":1,"maxPayload":3}"#,
            r#"{"sid":1,"upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"s","upgrades":"websocket","pingInterval":1,"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"s","upgrades":[],"pingInterval":-1,"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3"#,
            r#"{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3} x"#,
        ];
        for json in bad {
            assert_eq!(
                OpenPacket::from_json(json),
                Err(DecodeError::InvalidHandshake),
                "{json}"
            );
        }
    }
}
