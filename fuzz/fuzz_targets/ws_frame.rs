//! Arbitrary bytes, cut at arbitrary points, into a server and a client
//! frame decoder: nothing panics, and every message that decodes encodes
//! back into a frame that decodes to the same message.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sio_core::wire::ws::frame::{close_payload, encode_frame};
use sio_core::wire::ws::{Decoder, Limits, Message, OpCode, Role};

/// The first input bytes steer the run: the message size limit and the
/// lengths of the pieces the rest is fed in.
const CONTROL_BYTES: usize = 4;

fuzz_target!(|data: &[u8]| {
    let Some((control, stream)) = data.split_first_chunk::<CONTROL_BYTES>() else {
        return;
    };
    let limits = Limits {
        max_message_bytes: usize::from(u16::from_le_bytes([control[0], control[1]])),
    };
    for role in [Role::Server, Role::Client] {
        run(role, limits, [control[2], control[3]], stream);
    }
});

/// Feeds `stream` in pieces of varying length (from `seed`), polling after
/// each piece until `Ok(None)` or an error.
fn run(role: Role, limits: Limits, seed: [u8; 2], stream: &[u8]) {
    let mut decoder = Decoder::new(role, limits);
    let mut rest = stream;
    let mut piece = 0usize;
    while !rest.is_empty() {
        // Piece lengths cycle through 1..=seed-derived values.
        let len = 1 + usize::from(seed[piece % 2]) % (piece % 17 + 1);
        let (now, later) = rest.split_at(len.min(rest.len()));
        rest = later;
        piece += 1;
        decoder.feed(now);
        loop {
            match decoder.poll_message() {
                Ok(Some(message)) => check_round_trip(role, limits, &message),
                Ok(None) => break,
                Err(err) => {
                    assert!(matches!(err.close_code(), 1002 | 1007 | 1009));
                    return;
                }
            }
        }
    }
}

/// Re-encodes `message` as the peer of `role` would send it and decodes it
/// again with a fresh decoder.
fn check_round_trip(role: Role, limits: Limits, message: &Message) {
    let (opcode, payload) = match message {
        Message::Text(text) => (OpCode::Text, BytesMut::from(text.as_bytes().as_ref())),
        Message::Binary(bytes) => (OpCode::Binary, BytesMut::from(bytes.as_ref())),
        Message::Ping(bytes) => (OpCode::Ping, BytesMut::from(bytes.as_ref())),
        Message::Pong(bytes) => (OpCode::Pong, BytesMut::from(bytes.as_ref())),
        Message::Close(None) => (OpCode::Close, BytesMut::new()),
        Message::Close(Some(close)) => (OpCode::Close, close_payload(close.code, &close.reason)),
    };
    let mask = match role {
        Role::Server => Some([0xA5, 0x01, 0x7F, 0x80]),
        Role::Client => None,
    };
    let mut wire = BytesMut::new();
    encode_frame(&mut wire, true, opcode, &payload, mask);
    let mut decoder = Decoder::new(role, limits);
    decoder.feed(&wire);
    assert_eq!(decoder.poll_message(), Ok(Some(message.clone())));
    assert_eq!(decoder.poll_message(), Ok(None));
    assert!(decoder.is_idle());
}
