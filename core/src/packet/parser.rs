//! The [`Parser`] trait: how packets become Engine.IO messages and back.
//! JSON ([`JsonParser`]) is the default and the only one the reference
//! clients speak without configuration.

use alloc::vec::Vec;
use bytes::Bytes;
use bytestring::ByteString;

use super::{encode_text, Decoder, Limits, Packet, PacketError};
use crate::engine;

/// Turns packets into Engine.IO messages and back.
pub trait Parser {
    /// Per-connection decoding state.
    type Decoder: PacketDecoder;

    /// A fresh decoder for one connection.
    fn decoder(&self, limits: Limits) -> Self::Decoder;

    /// Appends the Engine.IO messages carrying `packet` to `out`, in the
    /// order they must be sent.
    fn encode(&self, packet: &Packet, out: &mut Vec<engine::Packet>);
}

/// Per-connection decoding state of a [`Parser`].
pub trait PacketDecoder {
    /// A text message; `Ok(None)` while attachments are awaited.
    fn decode_text(&mut self, text: ByteString) -> Result<Option<Packet>, PacketError>;
    /// A binary message; `Ok(None)` while more attachments are awaited.
    fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, PacketError>;
}

/// The default parser: text packets with JSON data, attachments as binary messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonParser;

impl Parser for JsonParser {
    type Decoder = Decoder;

    fn decoder(&self, limits: Limits) -> Decoder {
        Decoder::new(limits)
    }

    /// The text as one `Message`, then one `Binary` per attachment, in order.
    fn encode(&self, packet: &Packet, out: &mut Vec<engine::Packet>) {
        out.reserve(1 + packet.attachments.len());
        out.push(engine::Packet::Message(encode_text(packet)));
        out.extend(
            packet
                .attachments
                .iter()
                .cloned()
                .map(engine::Packet::Binary),
        );
    }
}

impl PacketDecoder for Decoder {
    fn decode_text(&mut self, text: ByteString) -> Result<Option<Packet>, PacketError> {
        Decoder::decode_text(self, text)
    }
    fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, PacketError> {
        Decoder::decode_binary(self, data)
    }
}
