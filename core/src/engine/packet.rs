//! Engine.IO v4 packets: a one-digit type then the data, as a WebSocket
//! text frame or a polling record; binary messages travel as WebSocket
//! binary frames (raw) or polling records `b` + base64.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

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
    /// Data after a type that carries none (close, upgrade, noop).
    UnexpectedData,
    /// A polling payload with more records than allowed.
    TooManyPackets,
    /// Handshake JSON that does not parse or lacks a field.
    InvalidHandshake,
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        todo!()
    }

    /// Decodes a WebSocket text frame (or one polling record that is not `b`).
    pub fn decode_text(text: ByteString) -> Result<Packet, DecodeError> {
        let _ = text;
        todo!()
    }

    /// Decodes a WebSocket binary frame: always a binary message.
    pub fn decode_binary(data: Bytes) -> Packet {
        Packet::Binary(data)
    }

    /// Appends the text form (type digit then data) to `out`; a binary
    /// message is written as `b` + base64, its polling form.
    pub fn encode_text(&self, out: &mut BytesMut) {
        let _ = out;
        todo!()
    }

    /// The text form as fresh bytes.
    pub fn to_text(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode_text(&mut out);
        out.freeze()
    }
}
