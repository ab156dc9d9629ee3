//! The opening handshake (RFC 6455 section 4): the server side (check an
//! upgrade request, answer 101) and the client side (write the request,
//! check the server's answer). No subprotocol is negotiated; the one
//! extension, permessage-deflate, is negotiated by the callers with
//! [`super::extension`] (a server without it ignores the offer).

use alloc::format;
use alloc::string::String;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::wire::http::{Method, Request, Response};

/// The GUID of RFC 6455 section 1.3, appended to the client's key.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version RFC 6455 defines.
const VERSION: &str = "13";

/// Length of a `Sec-WebSocket-Key`: 16 bytes in padded base64.
const KEY_LEN: usize = 24;

/// Why an upgrade request was refused (answered 400), or, on the client
/// side, why the server's answer is not an accepted WebSocket.
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
    /// (Client side) the server answered with this status instead of 101.
    BadStatus(u16),
    /// (Client side) `Sec-WebSocket-Accept` missing or not the one for our key.
    BadAccept,
    /// (Client side) the server chose an extension or subprotocol the
    /// client never offered.
    UnrequestedExtension,
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(GUID.as_bytes());
    BASE64.encode(sha1.finalize())
}

/// Whether `req` asks for a WebSocket at all (`Upgrade: websocket`), so the
/// caller can tell an upgrade attempt from a plain request.
pub fn is_upgrade_request(req: &Request) -> bool {
    has_token(request_headers(req), "upgrade", "websocket")
}

/// Checks an upgrade request and builds the `101 Switching Protocols`
/// response that accepts it.
pub fn accept(req: &Request) -> Result<Response, HandshakeError> {
    if req.method != Method::Get {
        return Err(HandshakeError::NotGet);
    }
    if !is_upgrade_request(req) {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(request_headers(req), "connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    if first_value(request_headers(req), "sec-websocket-version").map(str::trim) != Some(VERSION) {
        return Err(HandshakeError::BadVersion);
    }
    let key = first_value(request_headers(req), "sec-websocket-key")
        .map(str::trim)
        .filter(|key| is_valid_key(key))
        .ok_or(HandshakeError::BadKey)?;
    Ok(Response::new(101)
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade")
        .with_header("Sec-WebSocket-Accept", accept_key(key)))
}

/// A `Sec-WebSocket-Key` for a client from 16 random bytes (the caller
/// draws them: the core has no randomness of its own).
pub fn client_key(nonce: [u8; 16]) -> String {
    BASE64.encode(nonce)
}

/// The head of a client's upgrade request, ending with the blank line.
/// `host` and `path_and_query` come from the caller's configuration and
/// must not hold CR or LF.
pub fn client_request_head(host: &str, path_and_query: &str, key: &str) -> String {
    format!(
        "GET {path_and_query} HTTP/1.1\r\n\
         Host: {host}\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Version: {VERSION}\r\n\
         \r\n"
    )
}

/// Checks the server's answer to [`client_request_head`] sent with `key`:
/// status 101, `Upgrade: websocket`, `Connection: Upgrade`, the right
/// `Sec-WebSocket-Accept`, and no extension or subprotocol (none was offered).
/// Header names are matched case-insensitively.
pub fn check_server_response<N, V>(
    status: u16,
    headers: &[(N, V)],
    key: &str,
) -> Result<(), HandshakeError>
where
    N: AsRef<str>,
    V: AsRef<str>,
{
    let pairs = || {
        headers
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_ref()))
    };
    if status != 101 {
        return Err(HandshakeError::BadStatus(status));
    }
    if !has_token(pairs(), "upgrade", "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(pairs(), "connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let negotiated = |name| values(pairs(), name).any(|value| !value.trim().is_empty());
    if negotiated("sec-websocket-extensions") || negotiated("sec-websocket-protocol") {
        return Err(HandshakeError::UnrequestedExtension);
    }
    match first_value(pairs(), "sec-websocket-accept") {
        Some(accept) if accept.trim() == accept_key(key) => Ok(()),
        _ => Err(HandshakeError::BadAccept),
    }
}

/// A key is 16 bytes in padded base64; anything else is refused.
fn is_valid_key(key: &str) -> bool {
    // The length check first bounds the decode's allocation.
    key.len() == KEY_LEN && BASE64.decode(key).is_ok_and(|bytes| bytes.len() == 16)
}

/// The request's header lines as name/value pairs. `Request::header` is not
/// used so that this module only needs the plain fields.
fn request_headers(req: &Request) -> impl Iterator<Item = (&str, &str)> {
    req.headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
}

/// Every value of header `name` (case-insensitive), in order.
fn values<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    name: &'a str,
) -> impl Iterator<Item = &'a str> {
    headers
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The first value of header `name`.
fn first_value<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    name: &'a str,
) -> Option<&'a str> {
    values(headers, name).next()
}

/// Whether any line of the comma-separated header `name` holds `token`,
/// case-insensitively (`Connection: keep-alive, Upgrade`).
fn has_token<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    name: &'a str,
    token: &str,
) -> bool {
    values(headers, name).any(|value| {
        value
            .split(',')
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::http::Header;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            method: Method::Get,
            target: "/socket.io/?EIO=4&transport=websocket".to_string(),
            headers: headers
                .iter()
                .map(|(name, value)| Header {
                    name: name.to_ascii_lowercase(),
                    value: value.to_string(),
                })
                .collect(),
            body: bytes::Bytes::new(),
            keep_alive: true,
        }
    }

    #[test]
    fn accept_key_matches_rfc_sample() {
        assert_eq!(accept_key(SAMPLE_KEY), SAMPLE_ACCEPT);
    }

    #[test]
    fn key_validation() {
        assert!(is_valid_key(SAMPLE_KEY));
        assert!(!is_valid_key("dGhlIHNhbXBsZSBub25jZQ")); // unpadded
        assert!(!is_valid_key("dGhlIHNhbXBsZSBub25jZQ=!"));
        assert!(!is_valid_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAA")); // 21 bytes
    }

    #[test]
    fn token_lists_are_case_insensitive_and_span_lines() {
        let headers: Vec<(&str, &str)> = alloc::vec![
            ("Connection", "keep-alive"),
            ("CONNECTION", " foo ,UpGrade ")
        ];
        assert!(has_token(headers.iter().copied(), "connection", "upgrade"));
        assert!(!has_token(headers.iter().copied(), "connection", "upgrad"));
        assert!(!has_token(headers.iter().copied(), "upgrade", "upgrade"));
    }

    #[test]
    fn upgrade_detection() {
        assert!(is_upgrade_request(&request(&[("upgrade", "WebSocket")])));
        assert!(is_upgrade_request(&request(&[(
            "upgrade",
            "h2c, websocket"
        )])));
        assert!(!is_upgrade_request(&request(&[("upgrade", "h2c")])));
        assert!(!is_upgrade_request(&request(&[])));
    }
}
