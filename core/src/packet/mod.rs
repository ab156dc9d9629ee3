//! Socket.IO v5 packets: type digit, attachment count for binary packets,
//! namespace, ack id and JSON data; binary attachments travel as separate
//! Engine.IO binary messages after the text, in order, and stand in the
//! JSON as `{"_placeholder":true,"num":N}`.

mod decoder;
mod encode;
mod json;
mod parser;

pub use decoder::{Decoder, Limits};
pub use encode::encode;
pub use json::RawJson;
pub use parser::{JsonParser, PacketDecoder, Parser};

use alloc::vec::Vec;
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

/// One Socket.IO packet, attachments included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Type.
    pub kind: PacketType,
    /// Namespace, `/` for the main one.
    pub nsp: ByteString,
    /// Ack id, for events that want an ack and for acks.
    pub id: Option<u64>,
    /// The JSON data exactly as sent (compact), if any.
    pub data: Option<RawJson>,
    /// Binary attachments, for [`PacketType::BinaryEvent`] and
    /// [`PacketType::BinaryAck`]; their count is written in the header.
    pub attachments: Vec<Bytes>,
}

/// Why a packet is malformed; the peer's fault. The reference server closes
/// the whole Engine.IO connection with reason "parse error".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketError {
    /// Nothing to decode.
    Empty,
    /// A type digit outside 0..=6.
    UnknownType(u8),
    /// A namespace that does not start with `/` or is not followed by `,`
    /// (or the end) where the header requires.
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
}
