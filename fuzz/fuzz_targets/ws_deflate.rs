//! permessage-deflate input: arbitrary bytes as compressed frames (RSV1)
//! into a decoder with an inflater, fed in pieces, and as raw DEFLATE into
//! an inflater with a small bound. Nothing panics, no message passes the
//! bound once inflated, and every message that decodes survives a
//! compress / decode round trip with the same context-takeover setting.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sio_core::wire::ws::deflate::{InflateError, Inflater, PerMessageDeflate};
use sio_core::wire::ws::{Decoder, Limits, Message, OpCode, Role};

fuzz_target!(|data: &[u8]| {
    let Some((control, stream)) = data.split_first_chunk::<3>() else {
        return;
    };
    let max = usize::from(u16::from_le_bytes([control[0], control[1]]));
    let no_context_takeover = control[2] & 1 != 0;
    let piece = 1 + usize::from(control[2] >> 1);

    // Raw DEFLATE, in pieces, bounded.
    let mut inflater = Inflater::new(no_context_takeover);
    let mut out = BytesMut::new();
    let mut result = Ok(());
    for chunk in stream.chunks(piece) {
        result = inflater.feed(chunk, &mut out, max);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = inflater.finish(&mut out, max);
    }
    match result {
        Ok(()) => assert!(out.len() <= max),
        Err(InflateError::TooLarge) => assert!(out.len() <= max + 16 * 1024),
        Err(InflateError::Corrupt) => {}
    }

    // Frames, for a client decoder (server frames are unmasked).
    let limits = Limits { max_message_bytes: max };
    let mut decoder = Decoder::with_inflater(Role::Client, limits, Inflater::new(no_context_takeover));
    for chunk in stream.chunks(piece) {
        decoder.feed(chunk);
        loop {
            match decoder.poll_message() {
                Ok(Some(message)) => check_round_trip(limits, no_context_takeover, &message),
                Ok(None) => break,
                Err(err) => {
                    assert!(matches!(err.close_code(), 1002 | 1007 | 1009));
                    return;
                }
            }
        }
    }
});

/// A data message compressed (threshold 0) and decoded again.
fn check_round_trip(limits: Limits, no_context_takeover: bool, message: &Message) {
    let (opcode, payload) = match message {
        Message::Text(text) => (OpCode::Text, text.as_bytes().as_ref()),
        Message::Binary(bytes) => (OpCode::Binary, bytes.as_ref()),
        _ => return,
    };
    assert!(payload.len() <= limits.max_message_bytes);
    let mut sender = PerMessageDeflate::new(0, 6, no_context_takeover);
    let mut wire = BytesMut::new();
    sender.encode(&mut wire, opcode, payload, None);
    let mut decoder = Decoder::with_inflater(Role::Client, limits, Inflater::new(no_context_takeover));
    decoder.feed(&wire);
    assert_eq!(decoder.poll_message(), Ok(Some(message.clone())));
}
