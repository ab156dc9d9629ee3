//! Cluster messages as they arrive from Redis: arbitrary bytes read as a
//! value (MessagePack or JSON, as the reference tells them apart), a
//! broadcast, a request and a response. Nothing may panic, and whatever
//! decodes must re-encode to bytes that decode and re-encode to the same
//! bytes (values are compared by bytes: a NaN is never equal to itself).
//!
//! Input layout: the first byte picks the request type `pending` answers
//! for response ids (or none); the rest is the message.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sio_core::adapter::{
    decode_value, encode_value, BroadcastMessage, Format, Request, RequestType, Response, Value,
};

/// Encodes `first`, decodes that and encodes again: the two encodings
/// must be identical.
fn stable<T>(
    first: &T,
    encode: impl Fn(&T) -> Option<Vec<u8>>,
    decode: impl Fn(&Bytes) -> Option<T>,
) {
    let Some(bytes) = encode(first) else { return };
    let bytes = Bytes::from(bytes);
    let again = decode(&bytes).expect("an encoded message decodes");
    let bytes_again = encode(&again).expect("a decoded message encodes");
    assert_eq!(bytes, bytes_again, "re-encoding changed the bytes");
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, message)) = input.split_first() else {
        return;
    };
    let pending_type = RequestType::from_number(i64::from(selector % 12));
    let pending = move |_: &str| pending_type;
    let bytes = Bytes::copy_from_slice(message);

    // Every message is a map or an array; a lone MessagePack scalar may
    // re-encode to a byte that reads as JSON (123 is `{`), for the
    // reference as for us.
    if let Ok(value @ (Value::Map(_) | Value::Array(_))) = decode_value(&bytes) {
        let format = Format::detect(&bytes);
        stable(
            &value,
            |v| encode_value(v, format).ok(),
            |b| decode_value(b).ok(),
        );
    }
    if let Ok(broadcast) = BroadcastMessage::decode(&bytes) {
        stable(
            &broadcast,
            |m| m.encode().ok(),
            |b| BroadcastMessage::decode(b).ok(),
        );
        // The packet inside must convert to a sio packet without panicking.
        let _ = broadcast.packet.to_packet();
    }
    if let Ok(request) = Request::decode(&bytes) {
        stable(&request, |r| r.encode().ok(), |b| Request::decode(b).ok());
    }
    if let Ok(response) = Response::decode(&bytes, pending) {
        stable(
            &response,
            |r| r.encode().ok(),
            |b| Response::decode(b, pending).ok(),
        );
    }
});
