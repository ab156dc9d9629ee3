//! The [`Parser`] trait: how packets become Engine.IO messages and back.
//! JSON ([`JsonParser`]) is the default and the only one the reference
//! clients speak without configuration; [`ParserKind`] chooses between it
//! and [`MsgPackParser`] at run time.

use alloc::vec::Vec;
use bytes::Bytes;
use bytestring::ByteString;

use super::encode::{text_len, write_into};
use super::msgpack::{MsgPackDecoder, MsgPackParser};
use super::{encode_text, Decoder, Limits, Packet, PacketError};
use crate::engine::{self, OutMessage};

/// Turns packets into Engine.IO messages and back.
pub trait Parser {
    /// Per-connection decoding state.
    type Decoder: PacketDecoder;

    /// A fresh decoder for one connection.
    fn decoder(&self, limits: Limits) -> Self::Decoder;

    /// Appends the Engine.IO messages carrying `packet` to `out`, in the
    /// order they must be sent.
    fn encode(&self, packet: &Packet, out: &mut Vec<engine::Packet>);

    /// Appends the ready-to-send messages carrying `packet` to `out`. The
    /// default goes through [`Parser::encode`]; a parser may write each
    /// message straight into its frame instead.
    fn encode_messages(&self, packet: &Packet, out: &mut Vec<OutMessage>) {
        let mut messages = Vec::new();
        self.encode(packet, &mut messages);
        out.extend(messages.into_iter().filter_map(|message| match message {
            engine::Packet::Message(text) => Some(OutMessage::text(&text)),
            engine::Packet::Binary(data) => Some(OutMessage::binary(&data)),
            // A parser only produces messages; anything else is not data.
            _ => None,
        }));
    }
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

    /// The text written straight into its WebSocket frame, then one binary
    /// message per attachment.
    fn encode_messages(&self, packet: &Packet, out: &mut Vec<OutMessage>) {
        out.reserve(1 + packet.attachments.len());
        out.push(OutMessage::text_with(text_len(packet), |frame| {
            write_into(packet, frame)
        }));
        out.extend(
            packet
                .attachments
                .iter()
                .map(|data| OutMessage::binary(data)),
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

/// The parser a server or client speaks, picked at run time (its
/// `Config::parser`): JSON, as npm `socket.io-parser` (the default there
/// and in Node), or MessagePack, as npm `socket.io-msgpack-parser`. Every
/// peer of a server must speak the same one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParserKind {
    /// [`JsonParser`].
    #[default]
    Json,
    /// [`MsgPackParser`].
    MsgPack,
}

/// The decoder of a [`ParserKind`].
#[derive(Debug)]
pub enum AnyDecoder {
    /// JSON's, which reassembles attachments.
    Json(Decoder),
    /// MessagePack's.
    MsgPack(MsgPackDecoder),
}

impl Parser for ParserKind {
    type Decoder = AnyDecoder;

    fn decoder(&self, limits: Limits) -> AnyDecoder {
        match self {
            ParserKind::Json => AnyDecoder::Json(JsonParser.decoder(limits)),
            ParserKind::MsgPack => AnyDecoder::MsgPack(MsgPackParser.decoder(limits)),
        }
    }

    fn encode(&self, packet: &Packet, out: &mut Vec<engine::Packet>) {
        match self {
            ParserKind::Json => JsonParser.encode(packet, out),
            ParserKind::MsgPack => MsgPackParser.encode(packet, out),
        }
    }

    fn encode_messages(&self, packet: &Packet, out: &mut Vec<OutMessage>) {
        match self {
            ParserKind::Json => JsonParser.encode_messages(packet, out),
            ParserKind::MsgPack => MsgPackParser.encode_messages(packet, out),
        }
    }
}

impl PacketDecoder for AnyDecoder {
    fn decode_text(&mut self, text: ByteString) -> Result<Option<Packet>, PacketError> {
        match self {
            AnyDecoder::Json(decoder) => decoder.decode_text(text),
            AnyDecoder::MsgPack(decoder) => decoder.decode_text(text),
        }
    }
    fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, PacketError> {
        match self {
            AnyDecoder::Json(decoder) => decoder.decode_binary(data),
            AnyDecoder::MsgPack(decoder) => decoder.decode_binary(data),
        }
    }
}
