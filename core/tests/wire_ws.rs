//! WebSocket handshake and frame codec: RFC 6455 examples byte for byte,
//! every error from a crafted frame, and proptest round trips.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use proptest::prelude::*;
use sio_core::wire::http::{Header, Method, Request};
use sio_core::wire::ws::frame::{close_payload, encode_frame, server_frame};
use sio_core::wire::ws::handshake::{
    accept, accept_key, check_server_response, client_key, client_request_head, is_upgrade_request,
    HandshakeError,
};
use sio_core::wire::ws::{CloseFrame, Decoder, Limits, Message, OpCode, Role, WsError};

const RFC_KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// Feeds `bytes` in chunks of `chunk` bytes, polling after each, until the
/// end or an error.
fn decode_chunked(
    role: Role,
    limits: Limits,
    bytes: &[u8],
    chunk: usize,
) -> (Vec<Message>, Option<WsError>) {
    let mut decoder = Decoder::new(role, limits);
    let mut messages = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        decoder.feed(piece);
        loop {
            match decoder.poll_message() {
                Ok(Some(message)) => messages.push(message),
                Ok(None) => break,
                Err(err) => return (messages, Some(err)),
            }
        }
    }
    (messages, None)
}

/// Decodes `bytes` fed whole and fed one byte at a time; both must agree.
fn decode(role: Role, limits: Limits, bytes: &[u8]) -> (Vec<Message>, Option<WsError>) {
    let whole = decode_chunked(role, limits, bytes, bytes.len());
    let bytewise = decode_chunked(role, limits, bytes, 1);
    assert_eq!(whole, bytewise, "whole vs byte-at-a-time");
    whole
}

fn decode_ok(role: Role, bytes: &[u8]) -> Vec<Message> {
    let (messages, err) = decode(role, Limits::default(), bytes);
    assert_eq!(err, None);
    messages
}

fn decode_err(role: Role, bytes: &[u8]) -> WsError {
    let (_, err) = decode(role, Limits::default(), bytes);
    err.expect("an error")
}

fn frame(fin: bool, opcode: OpCode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, fin, opcode, payload, mask);
    out.to_vec()
}

fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    frame(fin, opcode, payload, Some(RFC_KEY))
}

fn text(s: &str) -> Message {
    Message::Text(ByteString::from(s))
}

fn binary(b: &[u8]) -> Message {
    Message::Binary(Bytes::copy_from_slice(b))
}

// ---- RFC 6455 section 5.7 examples ----

#[test]
fn rfc_single_frame_unmasked_text() {
    let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert_eq!(decode_ok(Role::Client, &wire), vec![text("Hello")]);
    assert_eq!(frame(true, OpCode::Text, b"Hello", None), wire);
    assert_eq!(&server_frame(OpCode::Text, b"Hello")[..], &wire);
}

#[test]
fn rfc_single_frame_masked_text() {
    let wire = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(decode_ok(Role::Server, &wire), vec![text("Hello")]);
    assert_eq!(frame(true, OpCode::Text, b"Hello", Some(RFC_KEY)), wire);
}

#[test]
fn rfc_fragmented_unmasked_text() {
    let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
    let last = [0x80, 0x02, 0x6c, 0x6f];
    let wire = [&first[..], &last[..]].concat();
    assert_eq!(decode_ok(Role::Client, &wire), vec![text("Hello")]);
    assert_eq!(frame(false, OpCode::Text, b"Hel", None), first);
    assert_eq!(frame(true, OpCode::Continuation, b"lo", None), last);
}

#[test]
fn rfc_unmasked_ping_and_masked_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        decode_ok(Role::Client, &ping),
        vec![Message::Ping(Bytes::from_static(b"Hello"))]
    );
    assert_eq!(
        decode_ok(Role::Server, &pong),
        vec![Message::Pong(Bytes::from_static(b"Hello"))]
    );
    assert_eq!(frame(true, OpCode::Ping, b"Hello", None), ping);
    assert_eq!(frame(true, OpCode::Pong, b"Hello", Some(RFC_KEY)), pong);
}

#[test]
fn rfc_256_byte_binary_in_one_unmasked_frame() {
    let payload: Vec<u8> = (0..256).map(|i| i as u8).collect();
    let wire = [&[0x82, 0x7E, 0x01, 0x00][..], &payload].concat();
    assert_eq!(decode_ok(Role::Client, &wire), vec![binary(&payload)]);
    assert_eq!(frame(true, OpCode::Binary, &payload, None), wire);
}

#[test]
fn rfc_64k_binary_in_one_unmasked_frame() {
    let payload: Vec<u8> = (0..65536).map(|i| (i % 251) as u8).collect();
    let wire = [&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00][..], &payload].concat();
    // Whole and in odd-sized chunks (byte at a time is slow here).
    for chunk in [wire.len(), 1000, 7] {
        let (messages, err) = decode_chunked(Role::Client, Limits::default(), &wire, chunk);
        assert_eq!((messages, err), (vec![binary(&payload)], None));
    }
    assert_eq!(frame(true, OpCode::Binary, &payload, None), wire);
}

#[test]
fn length_encoding_boundaries() {
    for (len, header) in [
        (125usize, vec![0x82, 125]),
        (126, vec![0x82, 126, 0, 126]),
        (65535, vec![0x82, 126, 0xFF, 0xFF]),
        (65536, vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] {
        let payload = vec![9u8; len];
        let wire = frame(true, OpCode::Binary, &payload, None);
        assert_eq!(&wire[..header.len()], &header[..], "length {len}");
        assert_eq!(wire.len(), header.len() + len);
        let (messages, err) = decode_chunked(Role::Client, Limits::default(), &wire, 4096);
        assert_eq!((messages, err), (vec![binary(&payload)], None));
    }
}

#[test]
fn non_minimal_lengths_are_tolerated() {
    // "Hi" with a 16-bit and a 64-bit length.
    let wire16 = [0x81, 126, 0, 2, b'H', b'i'];
    let wire64 = [0x81, 127, 0, 0, 0, 0, 0, 0, 0, 2, b'H', b'i'];
    assert_eq!(decode_ok(Role::Client, &wire16), vec![text("Hi")]);
    assert_eq!(decode_ok(Role::Client, &wire64), vec![text("Hi")]);
}

#[test]
fn empty_frames() {
    let mut wire = client_frame(true, OpCode::Text, b"");
    wire.extend(client_frame(true, OpCode::Binary, b""));
    wire.extend(client_frame(true, OpCode::Ping, b""));
    wire.extend(client_frame(false, OpCode::Binary, b""));
    wire.extend(client_frame(true, OpCode::Continuation, b""));
    assert_eq!(
        decode_ok(Role::Server, &wire),
        vec![
            text(""),
            binary(b""),
            Message::Ping(Bytes::new()),
            binary(b"")
        ]
    );
}

// ---- fragmentation and control frames ----

#[test]
fn control_frames_between_fragments_come_out_at_once() {
    let mut wire = client_frame(false, OpCode::Binary, b"one ");
    wire.extend(client_frame(true, OpCode::Ping, b"p1"));
    wire.extend(client_frame(false, OpCode::Continuation, b"two "));
    wire.extend(client_frame(true, OpCode::Pong, b""));
    wire.extend(client_frame(
        true,
        OpCode::Close,
        &close_payload(1000, "bye"),
    ));
    wire.extend(client_frame(true, OpCode::Continuation, b"three"));
    wire.extend(client_frame(true, OpCode::Text, b"next"));
    assert_eq!(
        decode_ok(Role::Server, &wire),
        vec![
            Message::Ping(Bytes::from_static(b"p1")),
            Message::Pong(Bytes::new()),
            Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "bye".into()
            })),
            binary(b"one two three"),
            text("next"),
        ]
    );
}

#[test]
fn many_fragments_of_text() {
    let mut wire = Vec::new();
    let words = ["a", "bb", "", "ccc", "dddd"];
    for (i, word) in words.iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Text
        } else {
            OpCode::Continuation
        };
        wire.extend(frame(i == words.len() - 1, opcode, word.as_bytes(), None));
    }
    assert_eq!(decode_ok(Role::Client, &wire), vec![text("abbcccdddd")]);
}

// ---- close frames ----

#[test]
fn close_bodies() {
    let decode_close = |body: &[u8]| {
        decode(
            Role::Server,
            Limits::default(),
            &client_frame(true, OpCode::Close, body),
        )
    };
    assert_eq!(decode_close(b""), (vec![Message::Close(None)], None));
    assert_eq!(
        decode_close(&close_payload(1001, "")),
        (
            vec![Message::Close(Some(CloseFrame {
                code: 1001,
                reason: String::new()
            }))],
            None
        )
    );
    assert_eq!(
        decode_close(&close_payload(4999, "\u{e9}t\u{e9}")),
        (
            vec![Message::Close(Some(CloseFrame {
                code: 4999,
                reason: "\u{e9}t\u{e9}".into()
            }))],
            None
        )
    );
    assert_eq!(decode_close(&[0x03]).1, Some(WsError::InvalidCloseCode(0)));
    assert_eq!(
        decode_close(&[0x03, 0xE8, 0xFF]).1,
        Some(WsError::InvalidUtf8)
    );
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535,
    ] {
        assert_eq!(
            decode_close(&close_payload(code, "x")).1,
            Some(WsError::InvalidCloseCode(code)),
            "{code}"
        );
    }
    for code in [1000u16, 1003, 1007, 1011, 1014, 3000, 4000] {
        let (messages, err) = decode_close(&close_payload(code, ""));
        assert_eq!(err, None, "{code}");
        assert_eq!(messages.len(), 1);
    }
}

#[test]
fn close_payload_bytes() {
    assert_eq!(&close_payload(1000, "ok")[..], &[0x03, 0xE8, b'o', b'k']);
    assert_eq!(&close_payload(4321, "")[..], &[0x10, 0xE1]);
}

// ---- every error from a crafted frame ----

#[test]
fn unmasked_frame_to_server() {
    assert_eq!(
        decode_err(Role::Server, &[0x81, 0x02, b'h', b'i']),
        WsError::UnmaskedFrame
    );
}

#[test]
fn masked_frame_to_client() {
    assert_eq!(
        decode_err(Role::Client, &client_frame(true, OpCode::Text, b"hi")),
        WsError::MaskedFrame
    );
}

#[test]
fn reserved_bits() {
    for rsv in [0x40, 0x20, 0x10] {
        assert_eq!(
            decode_err(Role::Client, &[0x81 | rsv, 0x00]),
            WsError::ReservedBits
        );
    }
}

#[test]
fn unknown_opcodes() {
    for opcode in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_eq!(
            decode_err(Role::Client, &[0x80 | opcode, 0x00]),
            WsError::UnknownOpcode(opcode)
        );
    }
}

#[test]
fn control_frame_too_long() {
    let ok = frame(true, OpCode::Ping, &[0; 125], None);
    assert_eq!(
        decode_ok(Role::Client, &ok),
        vec![Message::Ping(Bytes::from(vec![0; 125]))]
    );
    assert_eq!(
        decode_err(Role::Client, &frame(true, OpCode::Ping, &[0; 126], None)),
        WsError::ControlFrameTooLong
    );
    // Found from the header alone, before any payload.
    assert_eq!(
        decode_err(Role::Client, &[0x88, 126, 0, 126]),
        WsError::ControlFrameTooLong
    );
    assert_eq!(
        decode_err(Role::Client, &[0x8A, 127, 0, 0, 0, 0, 0, 0, 1, 0]),
        WsError::ControlFrameTooLong
    );
}

#[test]
fn fragmented_control_frame() {
    for opcode in [OpCode::Close, OpCode::Ping, OpCode::Pong] {
        assert_eq!(
            decode_err(Role::Server, &client_frame(false, opcode, b"")),
            WsError::FragmentedControlFrame
        );
    }
}

#[test]
fn unexpected_continuation() {
    assert_eq!(
        decode_err(
            Role::Server,
            &client_frame(true, OpCode::Continuation, b"x")
        ),
        WsError::UnexpectedContinuation
    );
    // Also right after a finished message.
    let mut wire = client_frame(false, OpCode::Text, b"a");
    wire.extend(client_frame(true, OpCode::Continuation, b"b"));
    wire.extend(client_frame(false, OpCode::Continuation, b"c"));
    let (messages, err) = decode(Role::Server, Limits::default(), &wire);
    assert_eq!(
        (messages, err),
        (vec![text("ab")], Some(WsError::UnexpectedContinuation))
    );
}

#[test]
fn expected_continuation() {
    for opcode in [OpCode::Text, OpCode::Binary] {
        let mut wire = client_frame(false, OpCode::Binary, b"a");
        wire.extend(client_frame(true, opcode, b"b"));
        assert_eq!(
            decode_err(Role::Server, &wire),
            WsError::ExpectedContinuation
        );
    }
}

#[test]
fn invalid_utf8_in_one_frame() {
    assert_eq!(
        decode_err(Role::Client, &frame(true, OpCode::Text, b"ab\xFFcd", None)),
        WsError::InvalidUtf8
    );
    // A frame ending inside a character.
    assert_eq!(
        decode_err(Role::Client, &frame(true, OpCode::Text, b"\xE2\x82", None)),
        WsError::InvalidUtf8
    );
    // Binary is not checked.
    assert_eq!(
        decode_ok(Role::Client, &frame(true, OpCode::Binary, b"\xFF", None)),
        vec![binary(b"\xFF")]
    );
}

#[test]
fn message_too_large() {
    let limits = Limits {
        max_message_bytes: 1 << 20,
    };
    // A 64-bit length past the limit fails from the header alone.
    let header = [0x82, 127, 0, 0, 0, 0, 0x10, 0, 0, 0];
    assert_eq!(
        decode(Role::Client, limits, &header).1,
        Some(WsError::MessageTooLarge)
    );
    // Even one near u64::MAX / 2.
    let header = [0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert_eq!(
        decode(Role::Client, limits, &header).1,
        Some(WsError::MessageTooLarge)
    );
}

#[test]
fn bad_length() {
    let header = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
    assert_eq!(decode_err(Role::Client, &header), WsError::BadLength);
}

#[test]
fn errors_repeat_and_close_codes() {
    let mut decoder = Decoder::new(Role::Server, Limits::default());
    decoder.feed(&[0x81, 0x00]);
    assert_eq!(decoder.poll_message(), Err(WsError::UnmaskedFrame));
    decoder.feed(&client_frame(true, OpCode::Text, b"later"));
    assert_eq!(decoder.poll_message(), Err(WsError::UnmaskedFrame));
    assert_eq!(WsError::UnmaskedFrame.close_code(), 1002);
    assert_eq!(WsError::InvalidUtf8.close_code(), 1007);
    assert_eq!(WsError::MessageTooLarge.close_code(), 1009);
}

// ---- UTF-8 across fragments ----

#[test]
fn utf8_split_across_fragments_is_fine() {
    let snowman_euro = "\u{2603}\u{20AC}\u{1F600}".as_bytes();
    for cut in 0..=snowman_euro.len() {
        let mut wire = client_frame(false, OpCode::Text, &snowman_euro[..cut]);
        wire.extend(client_frame(
            true,
            OpCode::Continuation,
            &snowman_euro[cut..],
        ));
        assert_eq!(
            decode_ok(Role::Server, &wire),
            vec![text("\u{2603}\u{20AC}\u{1F600}")],
            "cut {cut}"
        );
    }
}

#[test]
fn invalid_utf8_fails_at_the_bad_fragment() {
    // The first fragment is invalid: the error comes before the message ends.
    let wire = client_frame(false, OpCode::Text, b"ok\xC0\xAF");
    assert_eq!(decode_err(Role::Server, &wire), WsError::InvalidUtf8);
    // A character started in one fragment and broken in the next.
    let mut wire = client_frame(false, OpCode::Text, b"\xF0\x9F");
    wire.extend(client_frame(false, OpCode::Continuation, b"A"));
    assert_eq!(decode_err(Role::Server, &wire), WsError::InvalidUtf8);
    // A surrogate cut after its lead byte.
    let mut wire = client_frame(false, OpCode::Text, b"\xED");
    wire.extend(client_frame(false, OpCode::Continuation, b"\xA0\x80"));
    assert_eq!(decode_err(Role::Server, &wire), WsError::InvalidUtf8);
}

#[test]
fn text_message_ending_inside_a_character_is_invalid() {
    let mut wire = client_frame(false, OpCode::Text, b"ab");
    wire.extend(client_frame(true, OpCode::Continuation, b"\xE2\x82"));
    assert_eq!(decode_err(Role::Server, &wire), WsError::InvalidUtf8);
}

// ---- the size limit ----

#[test]
fn size_limit_exactly_at_and_one_past() {
    let limits = Limits {
        max_message_bytes: 10,
    };
    let at = frame(true, OpCode::Binary, &[1; 10], None);
    assert_eq!(
        decode(Role::Client, limits, &at),
        (vec![binary(&[1; 10])], None)
    );
    let past = frame(true, OpCode::Binary, &[1; 11], None);
    assert_eq!(
        decode(Role::Client, limits, &past),
        (vec![], Some(WsError::MessageTooLarge))
    );
    // Only the header was needed.
    assert_eq!(
        decode(Role::Client, limits, &past[..2]),
        (vec![], Some(WsError::MessageTooLarge))
    );

    // Summed over fragments.
    let mut at = frame(false, OpCode::Text, b"12345", None);
    at.extend(frame(true, OpCode::Ping, &[0; 100], None));
    at.extend(frame(true, OpCode::Continuation, b"67890", None));
    assert_eq!(
        decode(Role::Client, limits, &at),
        (
            vec![Message::Ping(Bytes::from(vec![0; 100])), text("1234567890")],
            None
        )
    );
    let mut past = frame(false, OpCode::Text, b"12345", None);
    past.extend(frame(false, OpCode::Continuation, b"6789", None));
    past.extend(frame(true, OpCode::Continuation, b"01", None));
    assert_eq!(
        decode(Role::Client, limits, &past),
        (vec![], Some(WsError::MessageTooLarge))
    );
}

// ---- handshake: server side ----

const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn upgrade_request(method: Method, headers: &[(&str, &str)]) -> Request {
    Request {
        method,
        target: "/socket.io/?EIO=4&transport=websocket".into(),
        headers: headers
            .iter()
            .map(|(name, value)| Header {
                name: name.to_ascii_lowercase(),
                value: (*value).into(),
            })
            .collect(),
        body: Bytes::new(),
        keep_alive: true,
    }
}

fn good_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("host", "example.com"),
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", SAMPLE_KEY),
        (
            "sec-websocket-extensions",
            "permessage-deflate; client_max_window_bits",
        ),
    ]
}

fn with_header(
    name: &'static str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    let mut headers: Vec<_> = good_headers()
        .into_iter()
        .filter(|(n, _)| *n != name)
        .collect();
    if let Some(value) = value {
        headers.push((name, value));
    }
    headers
}

#[test]
fn accept_key_rfc_sample() {
    assert_eq!(accept_key(SAMPLE_KEY), SAMPLE_ACCEPT);
}

#[test]
fn accepts_a_good_request_without_extensions() {
    let response = accept(&upgrade_request(Method::Get, &good_headers())).expect("accepted");
    assert_eq!(response.status, 101);
    let headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_str()))
        .collect();
    assert_eq!(
        headers,
        vec![
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", SAMPLE_ACCEPT)
        ]
    );
    assert!(response.body.is_empty());
}

#[test]
fn header_values_are_case_insensitive() {
    let headers = [
        ("Upgrade", "WebSocket"),
        ("Connection", "UPGRADE"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", SAMPLE_KEY),
    ];
    assert!(accept(&upgrade_request(Method::Get, &headers)).is_ok());
}

#[test]
fn refusals() {
    type Headers = Vec<(&'static str, &'static str)>;
    let cases: Vec<(Method, Headers, HandshakeError)> = vec![
        (Method::Post, good_headers(), HandshakeError::NotGet),
        (
            Method::Get,
            with_header("upgrade", None),
            HandshakeError::MissingUpgrade,
        ),
        (
            Method::Get,
            with_header("upgrade", Some("h2c")),
            HandshakeError::MissingUpgrade,
        ),
        (
            Method::Get,
            with_header("connection", None),
            HandshakeError::MissingConnectionUpgrade,
        ),
        (
            Method::Get,
            with_header("connection", Some("keep-alive")),
            HandshakeError::MissingConnectionUpgrade,
        ),
        (
            Method::Get,
            with_header("sec-websocket-version", None),
            HandshakeError::BadVersion,
        ),
        (
            Method::Get,
            with_header("sec-websocket-version", Some("8")),
            HandshakeError::BadVersion,
        ),
        (
            Method::Get,
            with_header("sec-websocket-version", Some("13, 8")),
            HandshakeError::BadVersion,
        ),
        (
            Method::Get,
            with_header("sec-websocket-key", None),
            HandshakeError::BadKey,
        ),
        (
            Method::Get,
            with_header("sec-websocket-key", Some("short")),
            HandshakeError::BadKey,
        ),
        (
            Method::Get,
            with_header("sec-websocket-key", Some("dGhlIHNhbXBsZSBub25jZQ!!")),
            HandshakeError::BadKey,
        ),
        // 24 characters of base64, but 17 and 18 bytes.
        (
            Method::Get,
            with_header("sec-websocket-key", Some("AAAAAAAAAAAAAAAAAAAAAAA=")),
            HandshakeError::BadKey,
        ),
        (
            Method::Get,
            with_header("sec-websocket-key", Some("AAAAAAAAAAAAAAAAAAAAAAAA")),
            HandshakeError::BadKey,
        ),
    ];
    // Sanity: 16 zero bytes in the same shape are a key.
    let zero_key = with_header("sec-websocket-key", Some("AAAAAAAAAAAAAAAAAAAAAA=="));
    assert!(accept(&upgrade_request(Method::Get, &zero_key)).is_ok());
    for (method, headers, expected) in cases {
        assert_eq!(
            accept(&upgrade_request(method, &headers)),
            Err(expected.clone()),
            "{expected:?}"
        );
    }
}

#[test]
fn upgrade_request_detection() {
    assert!(is_upgrade_request(&upgrade_request(
        Method::Get,
        &good_headers()
    )));
    assert!(is_upgrade_request(&upgrade_request(
        Method::Post,
        &[("upgrade", "WEBSOCKET")]
    )));
    assert!(!is_upgrade_request(&upgrade_request(
        Method::Get,
        &[("connection", "upgrade")]
    )));
}

// ---- handshake: client side ----

#[test]
fn client_key_and_request_head() {
    assert_eq!(client_key(*b"the sample nonce"), SAMPLE_KEY);
    assert_eq!(
        client_request_head(
            "example.com:3000",
            "/socket.io/?EIO=4&transport=websocket",
            SAMPLE_KEY
        ),
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n\
         Host: example.com:3000\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
}

#[test]
fn client_checks_the_server_response() {
    let good = [
        ("upgrade", "WebSocket"),
        ("CONNECTION", "upgrade"),
        ("Sec-WebSocket-Accept", SAMPLE_ACCEPT),
    ];
    assert_eq!(check_server_response(101, &good, SAMPLE_KEY), Ok(()));
    // Owned strings work too.
    let owned: Vec<(String, String)> = good
        .iter()
        .map(|(n, v)| ((*n).into(), (*v).into()))
        .collect();
    assert_eq!(check_server_response(101, &owned, SAMPLE_KEY), Ok(()));

    assert_eq!(
        check_server_response(200, &good, SAMPLE_KEY),
        Err(HandshakeError::BadStatus(200))
    );
    assert_eq!(
        check_server_response(101, &good[1..], SAMPLE_KEY),
        Err(HandshakeError::MissingUpgrade)
    );
    assert_eq!(
        check_server_response(101, &[good[0], good[2]], SAMPLE_KEY),
        Err(HandshakeError::MissingConnectionUpgrade)
    );
    assert_eq!(
        check_server_response(101, &good[..2], SAMPLE_KEY),
        Err(HandshakeError::BadAccept)
    );
    assert_eq!(
        check_server_response(101, &good, "AAAAAAAAAAAAAAAAAAAAAA=="),
        Err(HandshakeError::BadAccept)
    );
    for extra in [
        ("Sec-WebSocket-Extensions", "permessage-deflate"),
        ("sec-websocket-protocol", "chat"),
    ] {
        let headers = [good[0], good[1], good[2], extra];
        assert_eq!(
            check_server_response(101, &headers, SAMPLE_KEY),
            Err(HandshakeError::UnrequestedExtension)
        );
    }
}

#[test]
fn client_and_server_handshakes_agree() {
    let key = client_key([42; 16]);
    let head = client_request_head("h", "/", &key);
    let headers: Vec<(&str, &str)> = head
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(": "))
        .collect();
    let response = accept(&upgrade_request(Method::Get, &headers)).expect("accepted");
    let response_headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_str()))
        .collect();
    assert_eq!(
        check_server_response(response.status, &response_headers, &key),
        Ok(())
    );
}

// ---- proptest round trips ----

/// One message from the generator, with how it is cut into frames.
#[derive(Debug, Clone)]
enum Planned {
    Data {
        message: Message,
        /// Cut points into the payload (sorted, deduplicated below).
        cuts: Vec<usize>,
        /// Control frames to send after fragment `i` (index taken modulo).
        controls: Vec<(usize, Message)>,
    },
    Control(Message),
}

fn control_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(|b| Message::Ping(Bytes::from(b))),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(|b| Message::Pong(Bytes::from(b))),
        Just(Message::Close(None)),
        (
            prop_oneof![1000u16..=1003, 1007u16..=1014, 3000u16..=4999],
            "\\PC{0,30}".prop_filter("fits in 123 bytes", |s: &String| s.len() <= 123)
        )
            .prop_map(|(code, reason)| Message::Close(Some(CloseFrame { code, reason }))),
    ]
}

fn data_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        any::<String>().prop_map(|s| Message::Text(ByteString::from(s))),
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| Message::Binary(Bytes::from(b))),
    ]
}

fn planned() -> impl Strategy<Value = Planned> {
    prop_oneof![
        control_message().prop_map(Planned::Control),
        (
            data_message(),
            proptest::collection::vec(any::<usize>(), 0..5),
            proptest::collection::vec((any::<usize>(), control_message()), 0..3)
        )
            .prop_map(|(message, cuts, controls)| Planned::Data {
                message,
                cuts,
                controls
            }),
    ]
}

fn control_frame_parts(message: &Message) -> (OpCode, Vec<u8>) {
    match message {
        Message::Ping(b) => (OpCode::Ping, b.to_vec()),
        Message::Pong(b) => (OpCode::Pong, b.to_vec()),
        Message::Close(None) => (OpCode::Close, Vec::new()),
        Message::Close(Some(close)) => (
            OpCode::Close,
            close_payload(close.code, &close.reason).to_vec(),
        ),
        other => panic!("not a control message: {other:?}"),
    }
}

/// Encodes the plan as frames; returns the wire bytes and the messages in
/// the order a decoder must return them.
fn encode_plan(
    plan: &[Planned],
    mut next_mask: impl FnMut() -> Option<[u8; 4]>,
) -> (Vec<u8>, Vec<Message>) {
    let mut out = BytesMut::new();
    let mut expected = Vec::new();
    for item in plan {
        match item {
            Planned::Control(message) => {
                let (opcode, payload) = control_frame_parts(message);
                encode_frame(&mut out, true, opcode, &payload, next_mask());
                expected.push(message.clone());
            }
            Planned::Data {
                message,
                cuts,
                controls,
            } => {
                let (opcode, payload): (OpCode, &[u8]) = match message {
                    Message::Text(s) => (OpCode::Text, s.as_bytes()),
                    Message::Binary(b) => (OpCode::Binary, b),
                    other => panic!("not a data message: {other:?}"),
                };
                let mut points: Vec<usize> = cuts.iter().map(|c| c % (payload.len() + 1)).collect();
                points.push(0);
                points.push(payload.len());
                points.sort_unstable();
                points.dedup();
                let fragments: Vec<&[u8]> = if points.len() < 2 {
                    vec![payload]
                } else {
                    points.windows(2).map(|w| &payload[w[0]..w[1]]).collect()
                };
                let count = fragments.len();
                for (i, fragment) in fragments.iter().enumerate() {
                    let frame_opcode = if i == 0 { opcode } else { OpCode::Continuation };
                    encode_frame(
                        &mut out,
                        i + 1 == count,
                        frame_opcode,
                        fragment,
                        next_mask(),
                    );
                    if i + 1 < count {
                        for (_, control) in controls.iter().filter(|(at, _)| at % count == i) {
                            let (opcode, payload) = control_frame_parts(control);
                            encode_frame(&mut out, true, opcode, &payload, next_mask());
                            expected.push(control.clone());
                        }
                    }
                }
                expected.push(message.clone());
            }
        }
    }
    (out.to_vec(), expected)
}

/// Feeds `wire` cut at `splits` (positions modulo its length), polling
/// after every feed.
fn decode_split(
    role: Role,
    wire: &[u8],
    splits: &[usize],
) -> Result<(Vec<Message>, bool), WsError> {
    let mut points: Vec<usize> = splits.iter().map(|s| s % (wire.len() + 1)).collect();
    points.push(0);
    points.push(wire.len());
    points.sort_unstable();
    points.dedup();
    let mut decoder = Decoder::new(role, Limits::default());
    let mut messages = Vec::new();
    for window in points.windows(2) {
        decoder.feed(&wire[window[0]..window[1]]);
        while let Some(message) = decoder.poll_message()? {
            messages.push(message);
        }
    }
    Ok((messages, decoder.is_idle()))
}

/// `message` encoded as the peer of `role` sends it, decoded again.
fn reencode_and_decode(role: Role, message: &Message) -> Message {
    let (opcode, payload) = match message {
        Message::Text(s) => (OpCode::Text, s.as_bytes().to_vec()),
        Message::Binary(b) => (OpCode::Binary, b.to_vec()),
        control => control_frame_parts(control),
    };
    let mask = (role == Role::Server).then_some([1, 2, 3, 4]);
    let wire = frame(true, opcode, &payload, mask);
    let (mut messages, err) = decode(role, Limits::default(), &wire);
    assert_eq!((messages.len(), err), (1, None));
    messages.remove(0)
}

proptest! {
    #[test]
    fn masked_client_frames_round_trip_through_a_server_decoder(
        plan in proptest::collection::vec(planned(), 0..8),
        keys in proptest::collection::vec(any::<[u8; 4]>(), 1..8),
        splits in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut key_index = 0;
        let (wire, expected) = encode_plan(&plan, || {
            key_index += 1;
            Some(keys[key_index % keys.len()])
        });
        let (messages, idle) = decode_split(Role::Server, &wire, &splits).expect("decodes");
        prop_assert_eq!(messages, expected);
        prop_assert!(idle);
    }

    #[test]
    fn unmasked_server_frames_round_trip_through_a_client_decoder(
        plan in proptest::collection::vec(planned(), 0..8),
        splits in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let (wire, expected) = encode_plan(&plan, || None);
        let (messages, idle) = decode_split(Role::Client, &wire, &splits).expect("decodes");
        prop_assert_eq!(messages, expected);
        prop_assert!(idle);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        splits in proptest::collection::vec(any::<usize>(), 0..10),
        max in 0usize..300,
    ) {
        for role in [Role::Server, Role::Client] {
            let mut points: Vec<usize> = splits.iter().map(|s| s % (bytes.len() + 1)).collect();
            points.extend([0, bytes.len()]);
            points.sort_unstable();
            points.dedup();
            let mut decoder = Decoder::new(role, Limits { max_message_bytes: max });
            'feed: for window in points.windows(2) {
                decoder.feed(&bytes[window[0]..window[1]]);
                loop {
                    match decoder.poll_message() {
                        Ok(Some(message)) => prop_assert_eq!(reencode_and_decode(role, &message), message),
                        Ok(None) => break,
                        Err(err) => {
                            prop_assert!([1002, 1007, 1009].contains(&err.close_code()));
                            break 'feed;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn arbitrary_frame_headers_never_panic(
        first in any::<u8>(),
        second in any::<u8>(),
        rest in proptest::collection::vec(any::<u8>(), 0..20),
    ) {
        // Valid-looking headers are rare in random bytes; build them here.
        let mut bytes = vec![first, second];
        bytes.extend(rest);
        for role in [Role::Server, Role::Client] {
            let (_, _) = decode_chunked(role, Limits { max_message_bytes: 16 }, &bytes, 1);
        }
    }
}
