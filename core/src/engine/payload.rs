//! The long-polling payload: records separated by the record separator
//! 0x1e; a binary record is `b` followed by the base64 of its bytes.
//!
//! As in the reference (`decodePayload` splits on the separator and fails
//! on the first bad record), an empty body, an empty record (so also a
//! trailing separator) and any bad record fail the whole payload. Text data
//! that itself holds 0x1e cannot travel in a payload: the protocol assumes
//! it never does, and [`encode_payload`] writes it as is, like the reference.
//! A text record that is not UTF-8 is [`DecodeError::InvalidUtf8`]; Node
//! would decode it lossily (U+FFFD) instead, but packets here hold `str`.

use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};

use super::packet::{DecodeError, Packet};

/// The record separator between packets of one payload.
pub const SEPARATOR: u8 = 0x1e;

/// Splits a POST body into packets, in order. `max_packets` bounds how many
/// records one body may hold; the records are counted before any is decoded.
pub fn decode_payload(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, DecodeError> {
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let record_count = count_records(&body);
    if record_count > max_packets {
        return Err(DecodeError::TooManyPackets);
    }
    let mut packets = Vec::with_capacity(record_count);
    for record in body.split(|&byte| byte == SEPARATOR) {
        packets.push(Packet::decode_record(body.slice_ref(record))?);
    }
    Ok(packets)
}

/// Appends the payload holding `packets` to `out`.
pub fn encode_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut BytesMut) {
    for (index, packet) in packets.into_iter().enumerate() {
        if index > 0 {
            out.put_u8(SEPARATOR);
        }
        packet.encode_text(out);
    }
}

/// How many bytes [`encode_payload`] writes for `packets` (saturating).
pub fn encoded_payload_len<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> usize {
    let (count, bytes) = packets
        .into_iter()
        .fold((0usize, 0usize), |(count, bytes), packet| {
            (
                count.saturating_add(1),
                bytes.saturating_add(packet.encoded_len()),
            )
        });
    // One separator before every record but the first.
    bytes.saturating_add(count.saturating_sub(1))
}

/// Records in a non-empty body: one more than its separators.
fn count_records(body: &[u8]) -> usize {
    body.iter()
        .filter(|&&byte| byte == SEPARATOR)
        .count()
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytestring::ByteString;

    fn decode(body: &'static [u8], max_packets: usize) -> Result<Vec<Packet>, DecodeError> {
        decode_payload(Bytes::from_static(body), max_packets)
    }

    #[test]
    fn too_many_records_fail_before_any_is_decoded() {
        // The third record is malformed, but the count is checked first.
        assert_eq!(
            decode(b"4a\x1e4b\x1ex", 2),
            Err(DecodeError::TooManyPackets)
        );
        assert_eq!(decode(b"4a\x1e4b", 2).map(|packets| packets.len()), Ok(2));
        assert_eq!(decode(b"4a", 0), Err(DecodeError::TooManyPackets));
    }

    #[test]
    fn empty_body_and_records_fail() {
        assert_eq!(decode(b"", 10), Err(DecodeError::Empty));
        assert_eq!(decode(b"\x1e", 10), Err(DecodeError::Empty));
        assert_eq!(decode(b"4a\x1e", 10), Err(DecodeError::Empty));
        assert_eq!(decode(b"\x1e4a", 10), Err(DecodeError::Empty));
        assert_eq!(decode(b"4a\x1e\x1e4b", 10), Err(DecodeError::Empty));
    }

    #[test]
    fn records_are_sliced_from_the_body() {
        let body = Bytes::from_static(b"4hello\x1e4world");
        let start = body.as_ptr() as usize;
        let packets = decode_payload(body, 10);
        let Ok([Packet::Message(first), Packet::Message(second)]) = packets.as_deref() else {
            panic!("unexpected {packets:?}");
        };
        assert_eq!(first.as_ptr() as usize, start + 1);
        assert_eq!(second.as_ptr() as usize, start + 8);
    }

    #[test]
    fn encoded_len_counts_separators() {
        let packets = [
            Packet::Message(ByteString::from_static("hello")),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Packet::Noop,
        ];
        let mut out = BytesMut::new();
        encode_payload(&packets, &mut out);
        assert_eq!(encoded_payload_len(&packets), out.len());
        assert_eq!(encoded_payload_len(&[]), 0);
    }

    #[test]
    fn empty_list_encodes_to_nothing() {
        let mut out = BytesMut::new();
        encode_payload(&[], &mut out);
        assert!(out.is_empty());
    }
}
