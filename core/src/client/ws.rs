//! The client end of one WebSocket: the upgrade request (offering
//! permessage-deflate when configured, as socket.io-client's `ws` does),
//! the server's `101` head, then frames both ways (ours masked, the
//! server's not; compressed past the threshold when the server agreed).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use bytes::BytesMut;

use crate::wire::ws::deflate::PerMessageDeflate;
use crate::wire::ws::extension::{self, DeflateOptions};
use crate::wire::ws::frame::encode_frame;
use crate::wire::ws::handshake::{
    check_server_response, client_key, client_request_head, HandshakeError,
};
use crate::wire::ws::{Decoder, Limits, Message, OpCode, Role, WsError};

/// Most header lines read in the server's answer.
const MAX_RESPONSE_HEADERS: usize = 32;

/// Why the opening handshake failed; the server's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadFault {
    /// No blank line within the head size bound.
    TooLarge,
    /// Not an HTTP/1.1 response head (or a header value that is not UTF-8).
    Malformed,
    /// A well-formed answer that does not accept the WebSocket.
    Refused(HandshakeError),
    /// An extension answer the client cannot honour.
    BadExtension(extension::ResponseError),
}

/// One WebSocket connection, client side.
#[derive(Debug)]
pub(crate) struct WsLink {
    key: String,
    /// The response head read so far; `None` once the `101` is checked.
    head: Option<BytesMut>,
    max_head_bytes: usize,
    decoder: Decoder,
    /// permessage-deflate as offered; then as agreed (`None` if not).
    /// Boxed: most links have neither, and every carrier holds a link.
    offer: Option<Box<DeflateOptions>>,
    deflate: Option<Box<PerMessageDeflate>>,
}

impl WsLink {
    /// A link whose `Sec-WebSocket-Key` comes from `nonce`.
    /// `offer`: permessage-deflate to offer, if any.
    pub(crate) fn new(
        nonce: [u8; 16],
        limits: Limits,
        max_head_bytes: usize,
        offer: Option<DeflateOptions>,
    ) -> Self {
        WsLink {
            key: client_key(nonce),
            head: Some(BytesMut::new()),
            max_head_bytes,
            decoder: Decoder::new(Role::Client, limits),
            offer: offer.map(Box::new),
            deflate: None,
        }
    }

    /// The upgrade request head, with `extra` header lines (CR, LF and
    /// NUL in them written as spaces: they could split the head).
    pub(crate) fn request(
        &self,
        host: &str,
        path_and_query: &str,
        extra: &[(String, String)],
    ) -> String {
        let mut head = client_request_head(host, path_and_query, &self.key);
        // Before the blank line that ends the head.
        head.truncate(head.len() - 2);
        if let Some(offer) = &self.offer {
            head.push_str("Sec-WebSocket-Extensions: ");
            head.push_str(&extension::client_offer(offer));
            head.push_str("\r\n");
        }
        for (name, value) in extra {
            push_field(&mut head, name);
            head.push_str(": ");
            push_field(&mut head, value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        head
    }

    /// Appends one whole masked frame carrying `payload`, compressed if
    /// permessage-deflate was agreed and it reaches the threshold.
    pub(crate) fn write_message(
        &mut self,
        out: &mut BytesMut,
        opcode: OpCode,
        payload: &[u8],
        mask: [u8; 4],
    ) {
        match &mut self.deflate {
            Some(codec) => codec.encode(out, opcode, payload, Some(mask)),
            None => write_frame(out, opcode, payload, mask),
        }
    }

    /// Whether the `101` has been read and checked.
    pub(crate) fn is_upgraded(&self) -> bool {
        self.head.is_none()
    }

    /// Takes bytes from the connection. `Ok(true)`: this call completed the
    /// handshake (frames may already wait in the decoder). The `Set-Cookie`
    /// lines of the server's `101` go to `cookies`.
    pub(crate) fn feed(
        &mut self,
        data: &[u8],
        cookies: &mut Vec<String>,
    ) -> Result<bool, HeadFault> {
        let Some(head) = &mut self.head else {
            self.decoder.feed(data);
            return Ok(false);
        };
        // Only up to the bound is held: a head must end within it.
        let searched = head.len().saturating_sub(3);
        let room = self.max_head_bytes.saturating_sub(head.len());
        let (taken, rest) = data.split_at(data.len().min(room));
        head.extend_from_slice(taken);
        let Some(end) = find_blank_line(head, searched) else {
            return if rest.is_empty() && head.len() < self.max_head_bytes {
                Ok(false)
            } else {
                Err(HeadFault::TooLarge)
            };
        };
        let frames_start = head.split_off(end);
        let agreed = parse_head(head, &self.key, self.offer.as_deref(), cookies)?;
        if let (Some(agreed), Some(offer)) = (agreed, &self.offer) {
            let (codec, inflater) = agreed.client_codec(offer);
            self.decoder.set_inflater(inflater);
            self.deflate = Some(Box::new(codec));
        }
        self.head = None;
        self.decoder.feed(&frames_start);
        self.decoder.feed(rest);
        Ok(true)
    }

    /// The next message or control frame from the server.
    pub(crate) fn poll(&mut self) -> Result<Option<Message>, WsError> {
        if self.head.is_some() {
            return Ok(None);
        }
        self.decoder.poll_message()
    }
}

/// `text` with CR, LF and NUL as spaces.
fn push_field(head: &mut String, text: &str) {
    head.extend(text.chars().map(|c| {
        if matches!(c, '\r' | '\n' | '\0') {
            ' '
        } else {
            c
        }
    }));
}

/// Appends one whole masked frame to `out`.
pub(crate) fn write_frame(out: &mut BytesMut, opcode: OpCode, payload: &[u8], mask: [u8; 4]) {
    encode_frame(out, true, opcode, payload, Some(mask));
}

/// The index just past the first `\r\n\r\n` at or after `from`.
fn find_blank_line(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = bytes.get(from..)?;
    tail.windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| from + at + 4)
}

/// Parses a complete response head and checks it accepts our key; the
/// permessage-deflate parameters it agreed to, if we offered any.
fn parse_head(
    head: &[u8],
    key: &str,
    offer: Option<&DeflateOptions>,
    cookies: &mut Vec<String>,
) -> Result<Option<extension::Agreed>, HeadFault> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(HeadFault::Malformed),
    }
    let status = response.code.ok_or(HeadFault::Malformed)?;
    let pairs = response
        .headers
        .iter()
        .map(|header| {
            core::str::from_utf8(header.value)
                .map(|value| (header.name, value))
                .map_err(|_| HeadFault::Malformed)
        })
        .collect::<Result<Vec<_>, _>>()?;
    cookies.extend(
        pairs
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, value)| String::from(*value)),
    );
    let Some(offer) = offer else {
        // Nothing offered: any extension in the answer is refused there.
        check_server_response(status, &pairs, key).map_err(HeadFault::Refused)?;
        return Ok(None);
    };
    let is_extensions = |name: &str| name.eq_ignore_ascii_case("sec-websocket-extensions");
    let others: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|(n, _)| !is_extensions(n))
        .collect();
    check_server_response(status, &others, key).map_err(HeadFault::Refused)?;
    let lines = pairs
        .iter()
        .filter(|(n, _)| is_extensions(n))
        .map(|(_, v)| *v);
    extension::check_response(lines, offer).map_err(HeadFault::BadExtension)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ws::handshake::accept_key;
    use alloc::format;

    fn link() -> WsLink {
        WsLink::new([7; 16], Limits::default(), 256, None)
    }

    #[test]
    fn extra_headers_go_in_the_head_and_set_cookies_come_out() {
        let mut ws = link();
        let extra = [
            (String::from("X-Token"), String::from("a\r\nInjected: 1")),
            (String::from("Cookie"), String::from("io=s1")),
        ];
        let request = ws.request("h", "/x", &extra);
        assert!(request.ends_with("X-Token: a  Injected: 1\r\nCookie: io=s1\r\n\r\n"));
        assert_eq!(request.matches("\r\n\r\n").count(), 1);
        let head = answer(&ws.key).replace("\r\n\r\n", "\r\nSet-Cookie: lb=2; Path=/\r\n\r\n");
        let mut cookies = Vec::new();
        assert_eq!(ws.feed(head.as_bytes(), &mut cookies), Ok(true));
        assert_eq!(cookies, ["lb=2; Path=/"]);
    }

    #[test]
    fn offered_deflate_is_used_when_agreed() {
        let mut ws = WsLink::new(
            [7; 16],
            Limits::default(),
            1024,
            Some(DeflateOptions::default()),
        );
        let request = ws.request("h", "/x", &[]);
        assert!(request.ends_with(
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ));
        let head = answer(&ws.key).replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        );
        assert_eq!(ws.feed(head.as_bytes(), &mut Vec::new()), Ok(true));
        // "Hello" compressed (RFC 7692 section 7.2.3.1), RSV1 set.
        ws.feed(
            &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(ws.poll(), Ok(Some(Message::Text("Hello".into()))));
        let mut out = BytesMut::new();
        ws.write_message(&mut out, OpCode::Text, &[b'a'; 2000], [1, 2, 3, 4]);
        assert_eq!(out[0], 0xc1);
        assert!(out.len() < 100);
        // A window smaller than ours is refused.
        let mut ws = WsLink::new(
            [7; 16],
            Limits::default(),
            1024,
            Some(DeflateOptions::default()),
        );
        let head = answer(&ws.key).replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n\r\n",
        );
        assert_eq!(
            ws.feed(head.as_bytes(), &mut Vec::new()),
            Err(HeadFault::BadExtension(
                extension::ResponseError::WindowTooSmall
            ))
        );
        // Not offered: an extension in the answer is refused.
        let mut plain = link();
        let head = answer(&plain.key).replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        );
        assert_eq!(
            plain.feed(head.as_bytes(), &mut Vec::new()),
            Err(HeadFault::Refused(HandshakeError::UnrequestedExtension))
        );
    }

    fn answer(key: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key)
        )
    }

    #[test]
    fn head_split_anywhere_then_frames() {
        let mut ws = link();
        let mut bytes = answer(&ws.key).into_bytes();
        bytes.extend_from_slice(&[0x81, 0x02, b'4', b'x']);
        let (a, b) = bytes.split_at(10);
        assert_eq!(ws.feed(a, &mut Vec::new()), Ok(false));
        assert_eq!(ws.poll(), Ok(None));
        assert_eq!(ws.feed(b, &mut Vec::new()), Ok(true));
        assert!(ws.is_upgraded());
        assert_eq!(
            ws.poll(),
            Ok(Some(Message::Text(bytestring::ByteString::from_static(
                "4x"
            ))))
        );
    }

    #[test]
    fn refused_and_malformed_heads() {
        let mut ws = link();
        let refused = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            ws.feed(refused, &mut Vec::new()),
            Err(HeadFault::Refused(HandshakeError::BadStatus(400)))
        );
        assert_eq!(
            link().feed(b"garbage\r\n\r\n", &mut Vec::new()),
            Err(HeadFault::Malformed)
        );
        let mut wrong_key = link();
        let other = answer("dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            wrong_key.feed(other.as_bytes(), &mut Vec::new()),
            Err(HeadFault::Refused(HandshakeError::BadAccept))
        );
    }

    #[test]
    fn head_over_the_bound_fails_without_holding_more() {
        let mut ws = link();
        assert_eq!(ws.feed(&[b'a'; 255], &mut Vec::new()), Ok(false));
        assert_eq!(ws.feed(b"bb", &mut Vec::new()), Err(HeadFault::TooLarge));
        assert!(ws.head.as_ref().is_some_and(|head| head.len() == 256));
    }
}
