//! Socket.IO packet decoder: arbitrary text and binary messages in any
//! order, with small limits. Nothing may panic, and every packet that
//! decodes must re-encode and decode to the same packet.
//!
//! Input layout: one byte of limits, then the first text message up to a
//! 0xFF byte (never part of UTF-8), then messages each led by a byte whose
//! low 7 bits are its length and whose high bit makes it text (decoded
//! lossily) instead of binary.
#![no_main]

use bytes::Bytes;
use bytestring::ByteString;
use libfuzzer_sys::fuzz_target;
use sio_core::engine;
use sio_core::packet::{Decoder, JsonParser, Limits, Packet, PacketError, Parser};

enum Message {
    Text(ByteString),
    Binary(Bytes),
}

fn text(bytes: &[u8]) -> Message {
    Message::Text(ByteString::from(
        String::from_utf8_lossy(bytes).into_owned(),
    ))
}

fn split(input: &[u8]) -> (Limits, Vec<Message>) {
    let Some((&config, rest)) = input.split_first() else {
        return (Limits::default(), Vec::new());
    };
    let limits = Limits {
        max_attachments: usize::from(config & 0x0f),
        max_attachment_bytes: usize::from(config >> 4) * 16,
    };
    let (first, mut rest) = match rest.iter().position(|&b| b == 0xff) {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (rest, &[][..]),
    };
    let mut messages = vec![text(first)];
    while let Some((&header, tail)) = rest.split_first() {
        let len = usize::from(header & 0x7f).min(tail.len());
        let (body, tail) = tail.split_at(len);
        messages.push(if header & 0x80 != 0 {
            text(body)
        } else {
            Message::Binary(Bytes::copy_from_slice(body))
        });
        rest = tail;
    }
    (limits, messages)
}

fn feed(decoder: &mut Decoder, message: Message) -> Result<Option<Packet>, PacketError> {
    match message {
        Message::Text(text) => decoder.decode_text(text),
        Message::Binary(data) => decoder.decode_binary(data),
    }
}

/// Encodes `packet` and decodes it with a fresh decoder.
fn round_trip(packet: &Packet, limits: Limits) -> Option<Packet> {
    let mut messages = Vec::new();
    JsonParser.encode(packet, &mut messages);
    let mut decoder = Decoder::new(limits);
    let mut decoded = None;
    for message in messages {
        let message = match message {
            engine::Packet::Message(text) => Message::Text(text),
            engine::Packet::Binary(data) => Message::Binary(data),
            other => panic!("the parser emitted {other:?}"),
        };
        assert!(
            decoded.is_none(),
            "a packet came out before its last message"
        );
        decoded = feed(&mut decoder, message).expect("a decoded packet re-decodes");
    }
    decoded
}

fuzz_target!(|input: &[u8]| {
    let (limits, messages) = split(input);
    let mut decoder = Decoder::new(limits);
    for message in messages {
        // Errors leave the decoder as new; keep feeding it.
        if let Ok(Some(packet)) = feed(&mut decoder, message) {
            assert_eq!(round_trip(&packet, limits).as_ref(), Some(&packet));
        }
    }
});
