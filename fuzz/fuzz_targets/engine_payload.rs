//! Arbitrary bytes as a long-polling body. Nothing may panic, the record
//! limit must hold, and a body that decodes must re-encode to one that
//! decodes to the same packets.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use sio_core::engine::payload::{decode_payload, encode_payload, encoded_payload_len};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the record limit so the limit path is fuzzed too.
    let Some((&limit, body)) = data.split_first() else {
        return;
    };
    let max_packets = usize::from(limit);
    let Ok(packets) = decode_payload(Bytes::copy_from_slice(body), max_packets) else {
        return;
    };
    assert!(!packets.is_empty() && packets.len() <= max_packets);

    let mut encoded = BytesMut::new();
    encode_payload(&packets, &mut encoded);
    assert_eq!(encoded.len(), encoded_payload_len(&packets));
    let again = decode_payload(encoded.freeze(), max_packets);
    assert_eq!(again.as_ref(), Ok(&packets));
});
