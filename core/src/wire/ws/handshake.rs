//! The opening handshake (RFC 6455 section 4) on the server side.

use alloc::string::String;

use crate::wire::http::{Request, Response};

/// The GUID of RFC 6455 section 1.3, appended to the client's key.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why an upgrade request was refused (answered 400).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The method is not GET.
    NotGet,
    /// No `Upgrade: websocket` header.
    MissingUpgrade,
    /// No `upgrade` token in `Connection`.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` missing or other than 13.
    BadVersion,
    /// `Sec-WebSocket-Key` missing or not 16 bytes in base64.
    BadKey,
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &str) -> String {
    let _ = key;
    todo!()
}

/// Whether `req` asks for a WebSocket at all (`Upgrade: websocket`), so the
/// caller can tell an upgrade attempt from a plain request.
pub fn is_upgrade_request(req: &Request) -> bool {
    let _ = req;
    todo!()
}

/// Checks an upgrade request and builds the `101 Switching Protocols`
/// response that accepts it.
pub fn accept(req: &Request) -> Result<Response, HandshakeError> {
    let _ = req;
    todo!()
}
