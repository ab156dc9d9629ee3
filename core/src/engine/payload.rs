//! The long-polling payload: records separated by the record separator
//! 0x1e; a binary record is `b` followed by the base64 of its bytes.

use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

use super::packet::{DecodeError, Packet};

/// The record separator between packets of one payload.
pub const SEPARATOR: u8 = 0x1e;

/// Splits a POST body into packets, in order. `max_packets` bounds how many
/// records one body may hold.
pub fn decode_payload(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, DecodeError> {
    let _ = (body, max_packets);
    todo!()
}

/// Appends the payload holding `packets` to `out`.
pub fn encode_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut BytesMut) {
    let _ = (packets, out);
    todo!()
}
