//! Engine.IO v4 packets: a one-digit type then the data, as a WebSocket
//! text frame or a polling record; binary messages travel as WebSocket
//! binary frames (raw) or polling records `b` + base64.
//!
//! Edges, decided against the reference parser (npm `engine.io-parser`,
//! `decodePacket`):
//!
//! - An empty text and an unknown first character are errors.
//! - Data after a type that carries none (`1`, `5`, `6`) is accepted and
//!   dropped: the reference keeps it but nothing reads it, so `1abc` is a
//!   close. [`DecodeError::UnexpectedData`] is therefore never produced here.
//! - A text starting with `b` is a base64 binary message. The protocol only
//!   sends it inside polling payloads, but the reference decodes it the same
//!   way in a WebSocket text frame, so [`Packet::decode_text`] does too.
//! - Base64 uses the standard alphabet. Encoding always pads (as Node's
//!   `Buffer.toString("base64")`). Decoding accepts padded and unpadded
//!   input and non-zero trailing bits, as Node's `Buffer.from(s, "base64")`
//!   does; anything else (URL-safe characters, whitespace, a lone final
//!   character, padding in the middle) is [`DecodeError::InvalidBase64`],
//!   where Node would silently skip or truncate.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

/// The first character of a binary message in its text (polling) form.
pub const BINARY_PREFIX: u8 = b'b';

/// Standard alphabet, padded output, lenient about padding and trailing bits
/// on input (see the module docs for why).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The packet types, by their digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: the handshake, server to client.
    Open = 0,
    /// `1`: close the session.
    Close = 1,
    /// `2`: heartbeat ping (`2probe` during an upgrade).
    Ping = 2,
    /// `3`: heartbeat pong (`3probe` during an upgrade).
    Pong = 3,
    /// `4`: a message.
    Message = 4,
    /// `5`: upgrade complete.
    Upgrade = 5,
    /// `6`: no-op, used to release a held polling request.
    Noop = 6,
}

impl PacketType {
    /// The type whose ASCII digit is `digit` (`b'0'`..=`b'6'`).
    pub fn from_digit(digit: u8) -> Option<PacketType> {
        match digit {
            b'0' => Some(PacketType::Open),
            b'1' => Some(PacketType::Close),
            b'2' => Some(PacketType::Ping),
            b'3' => Some(PacketType::Pong),
            b'4' => Some(PacketType::Message),
            b'5' => Some(PacketType::Upgrade),
            b'6' => Some(PacketType::Noop),
            _ => None,
        }
    }

    /// The ASCII digit that starts the packet's text form.
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// The handshake JSON.
    Open(ByteString),
    /// Close.
    Close,
    /// Ping with its data (`probe` during an upgrade, else empty).
    Ping(ByteString),
    /// Pong with its data.
    Pong(ByteString),
    /// A text message.
    Message(ByteString),
    /// A binary message.
    Binary(Bytes),
    /// Upgrade complete.
    Upgrade,
    /// No-op.
    Noop,
}

/// Why bytes are not an Engine.IO packet or payload; the peer's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Nothing where a packet was expected.
    Empty,
    /// A first character that is not a packet type digit.
    UnknownType(u8),
    /// A text packet or record that is not UTF-8.
    InvalidUtf8,
    /// A `b` record whose base64 does not decode.
    InvalidBase64,
    /// Data after a type that carries none (close, upgrade, noop). Not
    /// produced by this module's decoders: the reference accepts such data,
    /// so they drop it instead.
    UnexpectedData,
    /// A polling payload with more records than allowed.
    TooManyPackets,
    /// Handshake JSON that does not parse or lacks a field.
    InvalidHandshake,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty Engine.IO packet"),
            DecodeError::UnknownType(byte) => {
                write!(f, "unknown Engine.IO packet type byte 0x{byte:02x}")
            }
            DecodeError::InvalidUtf8 => f.write_str("Engine.IO text packet is not UTF-8"),
            DecodeError::InvalidBase64 => f.write_str("Engine.IO binary record is not base64"),
            DecodeError::UnexpectedData => {
                f.write_str("data after an Engine.IO packet type without data")
            }
            DecodeError::TooManyPackets => f.write_str("too many packets in an Engine.IO payload"),
            DecodeError::InvalidHandshake => f.write_str("invalid Engine.IO handshake JSON"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Decodes a WebSocket text frame or one polling record: a type digit
    /// then the data, which is sliced out of `text` without a copy. A text
    /// starting with `b` is decoded as base64 binary, as the reference does
    /// for both transports.
    pub fn decode_text(text: ByteString) -> Result<Packet, DecodeError> {
        let first = *text.as_bytes().first().ok_or(DecodeError::Empty)?;
        if first == BINARY_PREFIX {
            return decode_base64(text.as_bytes().get(1..).unwrap_or_default());
        }
        let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType(first))?;
        // The digit is ASCII, so index 1 is a char boundary.
        let data = text
            .get(1..)
            .map(|rest| text.slice_ref(rest))
            .unwrap_or_default();
        Ok(Packet::from_parts(kind, data))
    }

    /// Decodes one polling record (or a text frame) still in raw bytes. The
    /// type is checked before UTF-8, and a `b` record is checked as base64
    /// only, so the errors name the first fault.
    pub fn decode_record(record: Bytes) -> Result<Packet, DecodeError> {
        let first = *record.first().ok_or(DecodeError::Empty)?;
        if first == BINARY_PREFIX {
            return decode_base64(record.get(1..).unwrap_or_default());
        }
        if PacketType::from_digit(first).is_none() {
            return Err(DecodeError::UnknownType(first));
        }
        let text = ByteString::try_from(record).map_err(|_| DecodeError::InvalidUtf8)?;
        Packet::decode_text(text)
    }

    /// Decodes a WebSocket binary frame: always a binary message.
    pub fn decode_binary(data: Bytes) -> Packet {
        Packet::Binary(data)
    }

    /// Appends the text form (type digit then data) to `out`; a binary
    /// message is written as `b` + base64, its polling form.
    pub fn encode_text(&self, out: &mut BytesMut) {
        if let Packet::Binary(data) = self {
            out.put_u8(BINARY_PREFIX);
            encode_base64(data, out);
            return;
        }
        out.put_u8(self.packet_type().digit());
        out.extend_from_slice(self.text_data().as_bytes());
    }

    /// The text form as fresh bytes.
    pub fn to_text(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode_text(&mut out);
        out.freeze()
    }

    /// How many bytes [`Packet::encode_text`] writes (saturating at
    /// `usize::MAX`), e.g. to fill a polling response up to `maxPayload`.
    pub fn encoded_len(&self) -> usize {
        let data_len = match self {
            Packet::Binary(data) => base64::encoded_len(data.len(), true).unwrap_or(usize::MAX),
            _ => self.text_data().len(),
        };
        data_len.saturating_add(1)
    }

    /// Whether this is a binary message (sent raw as a WebSocket binary frame).
    pub fn is_binary(&self) -> bool {
        matches!(self, Packet::Binary(_))
    }

    /// The text after the digit; empty for types without data and for binary.
    fn text_data(&self) -> &str {
        match self {
            Packet::Open(data)
            | Packet::Ping(data)
            | Packet::Pong(data)
            | Packet::Message(data) => data,
            Packet::Close | Packet::Upgrade | Packet::Noop | Packet::Binary(_) => "",
        }
    }

    /// The packet of type `kind` with text `data`; types without data drop it.
    fn from_parts(kind: PacketType, data: ByteString) -> Packet {
        match kind {
            PacketType::Open => Packet::Open(data),
            PacketType::Close => Packet::Close,
            PacketType::Ping => Packet::Ping(data),
            PacketType::Pong => Packet::Pong(data),
            PacketType::Message => Packet::Message(data),
            PacketType::Upgrade => Packet::Upgrade,
            PacketType::Noop => Packet::Noop,
        }
    }
}

/// A binary message from the base64 after a `b`.
fn decode_base64(encoded: &[u8]) -> Result<Packet, DecodeError> {
    let data = BASE64
        .decode(encoded)
        .map_err(|_| DecodeError::InvalidBase64)?;
    Ok(Packet::Binary(Bytes::from(data)))
}

/// Appends the padded base64 of `data` to `out` in place.
fn encode_base64(data: &[u8], out: &mut BytesMut) {
    let Some(encoded_len) = base64::encoded_len(data.len(), true) else {
        // Only reachable for inputs near usize::MAX bytes, which cannot
        // exist alongside their encoding in memory.
        return;
    };
    let start = out.len();
    out.resize(start.saturating_add(encoded_len), 0);
    let written = out
        .get_mut(start..)
        .and_then(|tail| BASE64.encode_slice(data, tail).ok())
        .unwrap_or(0);
    out.truncate(start.saturating_add(written));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &'static str) -> Result<Packet, DecodeError> {
        Packet::decode_text(ByteString::from_static(text))
    }

    #[test]
    fn type_digits_round_trip() {
        for digit in b'0'..=b'6' {
            let kind = PacketType::from_digit(digit).map(PacketType::digit);
            assert_eq!(kind, Some(digit));
        }
        assert_eq!(PacketType::from_digit(b'7'), None);
        assert_eq!(PacketType::from_digit(b'b'), None);
    }

    #[test]
    fn data_is_sliced_not_copied() {
        let text = ByteString::from_static("4hello");
        let start = text.as_ptr() as usize;
        let Ok(Packet::Message(data)) = Packet::decode_text(text) else {
            panic!("not a message");
        };
        assert_eq!(data, "hello");
        assert_eq!(data.as_ptr() as usize, start + 1);
    }

    #[test]
    fn data_after_a_type_without_data_is_dropped() {
        assert_eq!(decode("1abc"), Ok(Packet::Close));
        assert_eq!(decode("5probe"), Ok(Packet::Upgrade));
        assert_eq!(decode("6x"), Ok(Packet::Noop));
    }

    #[test]
    fn types_with_data_accept_none() {
        assert_eq!(decode("0"), Ok(Packet::Open(ByteString::new())));
        assert_eq!(decode("2"), Ok(Packet::Ping(ByteString::new())));
        assert_eq!(decode("3"), Ok(Packet::Pong(ByteString::new())));
        assert_eq!(decode("4"), Ok(Packet::Message(ByteString::new())));
    }

    #[test]
    fn base64_padding_is_optional_on_input_only() {
        let bytes = Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]));
        assert_eq!(decode("bAQIDBA=="), Ok(bytes.clone()));
        assert_eq!(decode("bAQIDBA="), Ok(bytes.clone()));
        assert_eq!(decode("bAQIDBA"), Ok(bytes.clone()));
        assert_eq!(&bytes.to_text()[..], b"bAQIDBA==");
        // Non-zero trailing bits, which Node also accepts.
        assert_eq!(decode("bAQIDBB=="), Ok(bytes));
    }

    #[test]
    fn bad_base64_is_an_error() {
        for text in ["bA", "b====", "bAQ-_", "bAQ ID", "bAQ==ID", "b€"] {
            let text = ByteString::from(text);
            assert_eq!(Packet::decode_text(text), Err(DecodeError::InvalidBase64));
        }
    }

    #[test]
    fn empty_binary_is_a_bare_b() {
        assert_eq!(decode("b"), Ok(Packet::Binary(Bytes::new())));
        assert_eq!(&Packet::Binary(Bytes::new()).to_text()[..], b"b");
    }

    #[test]
    fn record_checks_type_before_utf8() {
        let record = |bytes: &'static [u8]| Packet::decode_record(Bytes::from_static(bytes));
        assert_eq!(record(b""), Err(DecodeError::Empty));
        assert_eq!(record(b"\xff4"), Err(DecodeError::UnknownType(0xff)));
        assert_eq!(record(b"4\xff"), Err(DecodeError::InvalidUtf8));
        assert_eq!(record(b"b\xff"), Err(DecodeError::InvalidBase64));
        assert_eq!(
            record(b"4ok"),
            Ok(Packet::Message(ByteString::from_static("ok")))
        );
    }

    #[test]
    fn encoded_len_matches_the_encoding() {
        let packets = [
            Packet::Open(ByteString::from_static("{}")),
            Packet::Close,
            Packet::Message(ByteString::from_static("€")),
            Packet::Binary(Bytes::from_static(&[0; 5])),
            Packet::Binary(Bytes::new()),
        ];
        for packet in packets {
            assert_eq!(packet.encoded_len(), packet.to_text().len(), "{packet:?}");
        }
    }

    #[test]
    fn binary_frames_are_binary_messages() {
        let packet = Packet::decode_binary(Bytes::from_static(b"4raw"));
        assert_eq!(packet, Packet::Binary(Bytes::from_static(b"4raw")));
        assert_eq!(packet.packet_type(), PacketType::Message);
        assert!(packet.is_binary());
    }
}
