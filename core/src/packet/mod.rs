//! Socket.IO v5 packets: type digit, attachment count for binary packets,
//! namespace, ack id and JSON data; binary attachments travel as separate
//! Engine.IO binary messages after the text, in order, and stand in the
//! JSON as `{"_placeholder":true,"num":N}`. That is the default parser's
//! wire ([`JsonParser`]); [`MsgPackParser`] sends each packet as one
//! MessagePack message instead, and [`ParserKind`] picks one at run time.

mod args;
mod decoder;
mod encode;
mod json;
mod msgpack;
mod parser;
mod syntax;

pub use args::{decode_args, encode_args, ArgsError};
pub use decoder::{Decoder, Limits};
pub use encode::{encode, encode_text};
pub use json::element_name;
pub use json::RawJson;
pub use msgpack::{decode_packet as decode_msgpack, encode_packet as encode_msgpack};
pub use msgpack::{MsgPackDecoder, MsgPackParser};
pub use parser::{AnyDecoder, JsonParser, PacketDecoder, Parser, ParserKind};

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;
use bytestring::ByteString;

/// The packet types, by their digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: join a namespace (client, with optional auth) or accept (server, with `{"sid"}`).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event, `["name", ...args]`.
    Event = 2,
    /// `3`: an acknowledgement, `[...args]`.
    Ack = 3,
    /// `4`: a refused connect, `{"message", "data"?}`.
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    /// The type whose digit is `byte` (`b'0'..=b'6'`).
    pub fn from_digit(byte: u8) -> Option<PacketType> {
        Some(match byte {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// The digit written on the wire (`b'0'..=b'6'`).
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// Whether packets of this type carry an attachment count and attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

/// One Socket.IO packet, attachments included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Type.
    pub kind: PacketType,
    /// Namespace, `/` for the main one.
    pub nsp: ByteString,
    /// Ack id, for events that want an ack and for acks.
    pub id: Option<u64>,
    /// The JSON data exactly as sent (compact), if any. Decoded packets
    /// may lack it whatever their type: the reference parser only checks a
    /// payload's shape when there is one, so `2` is an EVENT with no data.
    /// Placeholders of binary packets stay in this text.
    pub data: Option<RawJson>,
    /// Binary attachments, for [`PacketType::BinaryEvent`] and
    /// [`PacketType::BinaryAck`]; their count is written in the header.
    pub attachments: Vec<Bytes>,
}

/// The main namespace, `/`.
pub(crate) fn main_namespace() -> ByteString {
    ByteString::from_static("/")
}

impl Packet {
    /// A packet of `kind` for `nsp` with no id, data or attachments.
    fn bare(kind: PacketType, nsp: ByteString) -> Packet {
        Packet {
            kind,
            nsp,
            id: None,
            data: None,
            attachments: Vec::new(),
        }
    }

    /// `CONNECT` to `nsp`: a client's request (with optional auth data) or
    /// the server's acceptance (with `{"sid":...}`).
    pub fn connect(nsp: impl Into<ByteString>, data: Option<RawJson>) -> Packet {
        Packet {
            data,
            ..Packet::bare(PacketType::Connect, nsp.into())
        }
    }

    /// `DISCONNECT` from `nsp`.
    pub fn disconnect(nsp: impl Into<ByteString>) -> Packet {
        Packet::bare(PacketType::Disconnect, nsp.into())
    }

    /// An event: `data` is `["name", ...args]`. With attachments this is a
    /// `BINARY_EVENT` and `data` holds one placeholder per attachment;
    /// without, an `EVENT`. Add an ack id with [`Packet::with_id`].
    pub fn event(nsp: impl Into<ByteString>, data: RawJson, attachments: Vec<Bytes>) -> Packet {
        let kind = if attachments.is_empty() {
            PacketType::Event
        } else {
            PacketType::BinaryEvent
        };
        Packet {
            data: Some(data),
            attachments,
            ..Packet::bare(kind, nsp.into())
        }
    }

    /// The acknowledgement `id` with `data` (`[...args]`): a `BINARY_ACK`
    /// when there are attachments, an `ACK` otherwise.
    pub fn ack(
        nsp: impl Into<ByteString>,
        id: u64,
        data: RawJson,
        attachments: Vec<Bytes>,
    ) -> Packet {
        let kind = if attachments.is_empty() {
            PacketType::Ack
        } else {
            PacketType::BinaryAck
        };
        Packet {
            id: Some(id),
            data: Some(data),
            attachments,
            ..Packet::bare(kind, nsp.into())
        }
    }

    /// `CONNECT_ERROR` for `nsp`, with the reference server's payload:
    /// `{"message":...}`, plus `"data"` only when `data` is given.
    pub fn connect_error(
        nsp: impl Into<ByteString>,
        message: &str,
        data: Option<RawJson>,
    ) -> Packet {
        // A JSON string literal; Value's Display cannot fail.
        let message = serde_json::Value::String(message.into()).to_string();
        let mut text = String::with_capacity(
            message.len() + data.as_ref().map_or(0, |d| d.as_str().len()) + 20,
        );
        text.push_str("{\"message\":");
        text.push_str(&message);
        if let Some(data) = &data {
            text.push_str(",\"data\":");
            text.push_str(data.as_str());
        }
        text.push('}');
        let data = RawJson::from_trusted(ByteString::from(text));
        Packet {
            data: Some(data),
            ..Packet::bare(PacketType::ConnectError, nsp.into())
        }
    }

    /// The same packet asking for (or answering) acknowledgement `id`.
    pub fn with_id(self, id: u64) -> Packet {
        Packet {
            id: Some(id),
            ..self
        }
    }
}

/// Why a packet is malformed; the peer's fault. The reference server closes
/// the whole Engine.IO connection with reason "parse error".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketError {
    /// Nothing to decode.
    Empty,
    /// A first byte that is not a type digit `0`..=`6` (the byte itself,
    /// e.g. `b'7'`).
    UnknownType(u8),
    /// A namespace that does not start with `/` or is not followed by `,`
    /// (or the end) where the header requires. The JSON decoder never
    /// returns it: in the reference grammar a namespace is whatever runs
    /// from a `/` right after the header to the first `,` or the end.
    InvalidNamespace,
    /// An ack id too large for a u64.
    AckIdOverflow,
    /// The attachment count of a binary packet is missing, not a number, or
    /// not followed by `-`.
    InvalidAttachmentCount,
    /// More attachments than [`Limits::max_attachments`], or more bytes than
    /// [`Limits::max_attachment_bytes`].
    TooManyAttachments,
    /// A placeholder pointing at an attachment that does not exist.
    AttachmentMismatch,
    /// A binary message while no binary packet is waiting for attachments.
    UnexpectedBinary,
    /// A new text packet while a binary packet still waits for attachments.
    UnexpectedText,
    /// Data that is not JSON, or text after the JSON.
    InvalidJson,
    /// Data of the wrong shape for the type (EVENT not a non-empty array
    /// whose first element is a string, ACK not an array, CONNECT not an
    /// object, CONNECT_ERROR not an object or string, DISCONNECT with data).
    InvalidPayload,
    /// MessagePack parser: bytes that are not one MessagePack value.
    MessagePack(crate::msgpack::DecodeError),
    /// MessagePack parser: a text message (every packet is binary).
    TextMessage,
    /// MessagePack parser: a `type` that is not an integer from 0 to 4
    /// (or no object at all).
    InvalidType,
    /// MessagePack parser: an `id` that is not an integer from 0 to 2^63-1.
    InvalidAckId,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Empty => f.write_str("empty packet"),
            PacketError::UnknownType(byte) => write!(f, "unknown packet type byte {byte:#04x}"),
            PacketError::InvalidNamespace => f.write_str("invalid namespace"),
            PacketError::AckIdOverflow => f.write_str("ack id too large"),
            PacketError::InvalidAttachmentCount => f.write_str("illegal attachments"),
            PacketError::TooManyAttachments => f.write_str("too many attachments"),
            PacketError::AttachmentMismatch => f.write_str("placeholder without its attachment"),
            PacketError::UnexpectedBinary => {
                f.write_str("got binary data when not reconstructing a packet")
            }
            PacketError::UnexpectedText => {
                f.write_str("got plaintext data when reconstructing a packet")
            }
            PacketError::InvalidJson => f.write_str("invalid JSON"),
            PacketError::InvalidPayload => f.write_str("invalid payload"),
            PacketError::MessagePack(error) => write!(f, "invalid MessagePack: {error}"),
            PacketError::TextMessage => f.write_str("text message for the MessagePack parser"),
            PacketError::InvalidType => f.write_str("invalid packet type"),
            PacketError::InvalidAckId => f.write_str("invalid packet id"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PacketError {}
