//! Incremental decoding: a binary packet's text arrives first, then one
//! binary message per attachment; the packet is returned once it is whole.
//!
//! The header grammar is the reference parser's (npm `socket.io-parser`):
//!
//! ```text
//! <type digit>[<attachment count digits>-][/<namespace up to the first , or the end>[,]][<ack id digits>][<JSON>]
//! ```
//!
//! The attachment count is only read for types 5 and 6; a namespace is only
//! read when a `/` follows the header so far (`0/admin` without a comma is
//! valid); anything after the id must be one JSON value whose shape suits
//! the type. Where the reference is looser by accident of JavaScript's
//! `Number()` (an empty string or a whitespace type character read as `0`,
//! an empty or whitespace attachment count, whitespace read as ack id
//! digits), this decoder accepts ASCII digits only.

use alloc::boxed::Box;
use alloc::vec::Vec;

use bytes::Bytes;
use bytestring::ByteString;

use super::{main_namespace, Packet, PacketError, PacketType, RawJson};

/// Bounds on attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most attachments one packet may announce.
    pub max_attachments: usize,
    /// Most bytes all attachments of one packet may hold together.
    pub max_attachment_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attachments: 10,
            max_attachment_bytes: 1_000_000,
        }
    }
}

/// Attachment slots reserved up front.
const PREALLOCATED_ATTACHMENTS: usize = 16;

/// Decoder for one Engine.IO connection.
///
/// After an error the server closes the connection, so nothing more needs
/// decoding; still, the decoder never panics, and an error drops any packet
/// being reassembled (its attachments are freed at once), leaving the
/// decoder as new.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    /// Boxed: a binary packet in flight is rare, and every session holds a decoder.
    pending: Option<Box<Pending>>,
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
struct Pending {
    /// The packet so far; `attachments` fills up as they arrive.
    packet: Packet,
    /// How many attachments the header announced.
    expected: usize,
    /// Bytes held in `packet.attachments`.
    bytes: usize,
}

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            pending: None,
        }
    }

    /// Decodes a text message. `Ok(None)`: a binary packet now waits for
    /// its attachments.
    ///
    /// The packet's namespace and data share `text`'s buffer. A binary
    /// packet is checked whole here, placeholders included: the announced
    /// count fixes which placeholder indexes are valid, so a bad one is
    /// refused before any attachment is held.
    pub fn decode_text(&mut self, text: ByteString) -> Result<Option<Packet>, PacketError> {
        if self.pending.take().is_some() {
            return Err(PacketError::UnexpectedText);
        }
        let (packet, expected) = parse(text, &self.limits)?;
        if expected == 0 {
            return Ok(Some(packet));
        }
        // The limit may be configured huge; past a few, slots are
        // allocated as attachments arrive.
        let capacity = expected.min(PREALLOCATED_ATTACHMENTS);
        let packet = Packet {
            attachments: Vec::with_capacity(capacity),
            ..packet
        };
        self.pending = Some(Box::new(Pending {
            packet,
            expected,
            bytes: 0,
        }));
        Ok(None)
    }

    /// Takes one attachment; returns the packet when it was the last.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, PacketError> {
        let mut pending = self.pending.take().ok_or(PacketError::UnexpectedBinary)?;
        pending.bytes = pending
            .bytes
            .checked_add(data.len())
            .filter(|&total| total <= self.limits.max_attachment_bytes)
            .ok_or(PacketError::TooManyAttachments)?;
        pending.packet.attachments.push(data);
        if pending.packet.attachments.len() >= pending.expected {
            return Ok(Some(pending.packet));
        }
        self.pending = Some(pending);
        Ok(None)
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_reconstructing(&self) -> bool {
        self.pending.is_some()
    }
}

/// Parses and checks one text packet: the packet (without attachments) and
/// how many attachments must follow.
fn parse(text: ByteString, limits: &Limits) -> Result<(Packet, usize), PacketError> {
    let mut cursor = Cursor {
        text: &text,
        pos: 0,
    };
    let first = cursor.next_byte().ok_or(PacketError::Empty)?;
    let kind = PacketType::from_digit(first).ok_or(PacketError::UnknownType(first))?;
    let expected = if kind.is_binary() {
        cursor.attachment_count(limits)?
    } else {
        0
    };
    let nsp = cursor.namespace();
    let id = cursor.ack_id()?;
    let data = cursor
        .rest()
        .map(|rest| RawJson::parse(text.slice_ref(rest)))
        .transpose()?;
    check_payload(kind, data.as_ref())?;
    if let Some(data) = &data {
        if kind.is_binary() && !data.placeholders_fit(expected) {
            return Err(PacketError::AttachmentMismatch);
        }
    }
    let nsp = nsp.map_or_else(main_namespace, |nsp| text.slice_ref(nsp));
    let packet = Packet {
        kind,
        nsp,
        id,
        data,
        attachments: Vec::new(),
    };
    Ok((packet, expected))
}

/// The reference's `isPayloadValid`, applied (as there) only when data is
/// present: a packet may end after its header whatever its type.
pub(super) fn check_payload(kind: PacketType, data: Option<&RawJson>) -> Result<(), PacketError> {
    let Some(data) = data else {
        return Ok(());
    };
    // The text is one JSON value with no whitespace around it, so its first
    // byte tells its type.
    let first = data.as_str().as_bytes().first().copied();
    let valid = match kind {
        PacketType::Connect => first == Some(b'{'),
        PacketType::Disconnect => false,
        PacketType::ConnectError => matches!(first, Some(b'{' | b'"')),
        PacketType::Event | PacketType::BinaryEvent => is_event_array(data),
        PacketType::Ack | PacketType::BinaryAck => first == Some(b'['),
    };
    if valid {
        Ok(())
    } else {
        Err(PacketError::InvalidPayload)
    }
}

/// Names the reference refuses as event names: they mean something else on
/// one side or the other.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// A non-empty array whose first element is a number or a string that is
/// not a reserved event name.
fn is_event_array(data: &RawJson) -> bool {
    let Some(Some(first)) = data.first_element() else {
        return false;
    };
    match first.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => true,
        // A string that does not decode (a lone surrogate escape) is still a
        // string to `JSON.parse`, and cannot be a reserved name.
        Some(b'"') => {
            super::json::decode_string(first).is_none_or(|name| !RESERVED_EVENTS.contains(&&*name))
        }
        _ => false,
    }
}

/// A position in the header; every step stays on ASCII bytes, so every
/// slice it takes is on a character boundary.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    /// The run of ASCII digits at the cursor, consumed.
    fn digits(&mut self) -> &'a str {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// `<digits>-` of a binary packet, checked against the limit before
    /// anything waits for attachments.
    fn attachment_count(&mut self, limits: &Limits) -> Result<usize, PacketError> {
        let digits = self.digits();
        if digits.is_empty() || self.next_byte() != Some(b'-') {
            return Err(PacketError::InvalidAttachmentCount);
        }
        // Too large for usize is certainly too many.
        decimal(digits)
            .and_then(|count| usize::try_from(count).ok())
            .filter(|&count| count <= limits.max_attachments)
            .ok_or(PacketError::TooManyAttachments)
    }

    /// `/...` up to the first `,` (consumed) or the end; `None` when no `/`
    /// follows, which means the main namespace.
    fn namespace(&mut self) -> Option<&'a str> {
        if self.peek() != Some(b'/') {
            return None;
        }
        let rest = self.text.get(self.pos..)?;
        let len = rest.find(',').unwrap_or(rest.len());
        self.pos += len;
        if self.peek() == Some(b',') {
            self.pos += 1;
        }
        rest.get(..len)
    }

    fn ack_id(&mut self) -> Result<Option<u64>, PacketError> {
        let digits = self.digits();
        if digits.is_empty() {
            return Ok(None);
        }
        decimal(digits).map(Some).ok_or(PacketError::AckIdOverflow)
    }

    /// What follows the header, if anything.
    fn rest(&self) -> Option<&'a str> {
        self.text.get(self.pos..).filter(|rest| !rest.is_empty())
    }
}

/// ASCII digits as a u64; `None` on overflow.
fn decimal(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |value, digit| {
        let digit = char::from(digit).to_digit(10)?;
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    fn decoder() -> Decoder {
        Decoder::new(Limits::default())
    }

    fn text(text: &str) -> ByteString {
        ByteString::from(text)
    }

    #[test]
    fn namespace_and_data_share_the_message_buffer() {
        let message = text("2/admin,1[\"a\"]");
        let packet = decoder().decode_text(message.clone()).unwrap().unwrap();
        assert_eq!(packet.nsp.as_ptr(), message[1..].as_ptr());
        assert_eq!(
            packet.data.unwrap().as_str().as_ptr(),
            message[9..].as_ptr()
        );
    }

    #[test]
    fn decimal_bounds() {
        assert_eq!(decimal("18446744073709551615"), Some(u64::MAX));
        assert_eq!(decimal("18446744073709551616"), None);
        assert_eq!(decimal("00012"), Some(12));
    }

    #[test]
    fn an_error_while_reassembling_drops_the_packet() {
        let mut decoder = decoder();
        assert_eq!(decoder.decode_text(text("52-[\"a\"]")), Ok(None));
        assert!(decoder.is_reconstructing());
        assert_eq!(
            decoder.decode_text(text("2[\"b\"]")),
            Err(PacketError::UnexpectedText)
        );
        assert!(!decoder.is_reconstructing());
        // As new: the next packet decodes.
        assert!(decoder.decode_text(text("2[\"b\"]")).unwrap().is_some());
        assert_eq!(
            decoder.decode_binary(Bytes::new()),
            Err(PacketError::UnexpectedBinary)
        );
    }

    #[test]
    fn attachment_bytes_are_counted_before_holding() {
        let limits = Limits {
            max_attachments: 3,
            max_attachment_bytes: 4,
        };
        let mut decoder = Decoder::new(limits);
        assert_eq!(decoder.decode_text(text("53-[\"a\"]")), Ok(None));
        assert_eq!(decoder.decode_binary(Bytes::from_static(b"abc")), Ok(None));
        assert_eq!(decoder.decode_binary(Bytes::from_static(b"d")), Ok(None));
        assert_eq!(
            decoder.decode_binary(Bytes::from_static(b"e")),
            Err(PacketError::TooManyAttachments)
        );
        assert!(!decoder.is_reconstructing());
    }

    #[test]
    fn exactly_the_byte_limit_is_allowed() {
        let limits = Limits {
            max_attachments: 1,
            max_attachment_bytes: 3,
        };
        let mut decoder = Decoder::new(limits);
        assert_eq!(decoder.decode_text(text("51-[\"a\"]")), Ok(None));
        let packet = decoder
            .decode_binary(Bytes::from_static(b"abc"))
            .unwrap()
            .unwrap();
        assert_eq!(packet.attachments, vec![Bytes::from_static(b"abc")]);
    }

    #[test]
    fn a_huge_announced_count_reserves_nothing_up_front() {
        let limits = Limits {
            max_attachments: usize::MAX,
            max_attachment_bytes: usize::MAX,
        };
        let mut decoder = Decoder::new(limits);
        let announced = alloc::format!("5{}-[\"a\"]", usize::MAX);
        assert_eq!(decoder.decode_text(text(&announced)), Ok(None));
        assert_eq!(decoder.decode_binary(Bytes::from_static(b"x")), Ok(None));
        let too_many = alloc::format!("5{}0-[\"a\"]", usize::MAX);
        assert_eq!(
            Decoder::new(limits).decode_text(text(&too_many)),
            Err(PacketError::TooManyAttachments)
        );
    }

    #[test]
    fn zero_limits() {
        let limits = Limits {
            max_attachments: 0,
            max_attachment_bytes: 0,
        };
        let mut decoder = Decoder::new(limits);
        assert_eq!(
            decoder.decode_text(text("51-[\"a\"]")),
            Err(PacketError::TooManyAttachments)
        );
        assert!(decoder.decode_text(text("50-[\"a\"]")).unwrap().is_some());
    }
}
