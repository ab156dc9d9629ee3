//! Arbitrary bytes as an Engine.IO packet: as a text frame (when UTF-8), as
//! a raw polling record and as a binary frame. Nothing may panic, and
//! whatever decodes must re-encode to text that decodes to the same packet.
#![no_main]

use bytes::Bytes;
use bytestring::ByteString;
use libfuzzer_sys::fuzz_target;
use sio_core::engine::{DecodeError, Packet};

/// Re-encodes `packet` and checks the text decodes back to it both ways.
fn check_round_trip(packet: &Packet) {
    let wire = packet.to_text();
    assert_eq!(wire.len(), packet.encoded_len());
    assert_eq!(Packet::decode_record(wire.clone()).as_ref(), Ok(packet));
    let text = ByteString::try_from(wire).map_err(|_| DecodeError::InvalidUtf8);
    assert_eq!(text.and_then(Packet::decode_text).as_ref(), Ok(packet));
}

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);

    let from_record = Packet::decode_record(bytes.clone());
    if let Ok(packet) = &from_record {
        check_round_trip(packet);
    }

    if let Ok(text) = ByteString::try_from(bytes.clone()) {
        let from_text = Packet::decode_text(text);
        // For UTF-8 input the two entry points agree.
        assert_eq!(from_text, from_record);
    }

    let binary = Packet::decode_binary(bytes);
    check_round_trip(&binary);
});
