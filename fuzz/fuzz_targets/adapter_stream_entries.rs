//! Stream entries of the Redis Streams adapter as they arrive from Redis:
//! arbitrary field names and values read as a cluster message. Nothing may
//! panic, and whatever decodes must write fields that decode to the same
//! message and write the same fields again.
//!
//! Input layout: fields separated by 0xff bytes, each `name=value` at its
//! first `=`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sio_core::adapter::ClusterMessage;

fuzz_target!(|input: &[u8]| {
    let fields: Vec<(Bytes, Bytes)> = input
        .split(|&b| b == 0xff)
        .map(|field| match field.iter().position(|&b| b == b'=') {
            Some(at) => (
                Bytes::copy_from_slice(&field[..at]),
                Bytes::copy_from_slice(&field[at + 1..]),
            ),
            None => (Bytes::copy_from_slice(field), Bytes::new()),
        })
        .collect();
    let Ok(message) = ClusterMessage::from_fields(&fields) else {
        return;
    };
    let Ok(written) = message.to_fields() else {
        return;
    };
    let entry: Vec<(Bytes, Bytes)> = written
        .iter()
        .map(|(name, value)| (Bytes::from_static(name.as_bytes()), Bytes::from(value.clone())))
        .collect();
    let again = ClusterMessage::from_fields(&entry).expect("written fields decode");
    assert_eq!(
        again.to_fields().expect("a decoded message writes"),
        written,
        "re-writing changed the fields"
    );
});
