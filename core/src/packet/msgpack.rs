//! The MessagePack parser, wire-compatible with npm
//! `socket.io-msgpack-parser` 3.x: each packet is the object
//! `{type, data, id, nsp}` encoded by notepack.io and sent as one binary
//! Engine.IO message. Buffers stay inline in `data` (MessagePack `bin`);
//! there are no attachment messages and no BINARY_EVENT / BINARY_ACK types
//! on the wire (only 0..=4).
//!
//! Inside sio a packet's data is JSON text with placeholders, and its
//! buffers are attachments, whatever the parser: decoding turns each `bin`
//! into a placeholder and an attachment, encoding puts them back. The rest
//! of the stack (typed arguments, broadcast, the adapter) does not know
//! which parser runs.

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;
use bytestring::ByteString;

use super::decoder::check_payload;
use super::{Limits, Packet, PacketDecoder, PacketError, PacketType, Parser, RawJson};
use crate::engine;
use crate::msgpack::{self, Value};

/// The parser of npm `socket.io-msgpack-parser`. Both ends must use it:
/// the reference client takes it as its `parser` option.
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgPackParser;

impl Parser for MsgPackParser {
    type Decoder = MsgPackDecoder;

    fn decoder(&self, limits: Limits) -> MsgPackDecoder {
        MsgPackDecoder { limits }
    }

    /// One `Binary` message holding the whole packet.
    fn encode(&self, packet: &Packet, out: &mut Vec<engine::Packet>) {
        out.push(engine::Packet::Binary(Bytes::from(encode_packet(packet))));
    }
}

/// The MessagePack bytes of `packet`, keys in the order the Node server
/// writes an emit's (`type`, `data`, `id`, `nsp`).
pub fn encode_packet(packet: &Packet) -> Vec<u8> {
    let mut entries: Vec<(String, Value)> = Vec::with_capacity(4);
    entries.push((String::from("type"), Value::Int(wire_type(packet.kind))));
    if let Some(data) = &packet.data {
        entries.push((String::from("data"), data_value(data, &packet.attachments)));
    }
    if let Some(id) = packet.id {
        // Ids past i64 cannot come from our own counters; as a double,
        // as JavaScript would hold them.
        let id = i64::try_from(id).map_or(Value::Float(id as f64), Value::Int);
        entries.push((String::from("id"), id));
    }
    entries.push((String::from("nsp"), Value::str(&*packet.nsp)));
    let mut out = Vec::with_capacity(packet_size_hint(packet));
    // Only strings or buffers past 4 GiB fail, and no message that large
    // is ever built (the transports bound them far below).
    let _ = msgpack::encode(&Value::Map(entries), &mut out);
    out
}

/// The type number on the wire: binary types are plain events and acks
/// here, their buffers inline.
fn wire_type(kind: PacketType) -> i64 {
    match kind {
        PacketType::BinaryEvent => PacketType::Event as i64,
        PacketType::BinaryAck => PacketType::Ack as i64,
        other => other as i64,
    }
}

/// The data as a value, each placeholder replaced by its attachment.
fn data_value(data: &RawJson, attachments: &[Bytes]) -> Value {
    match msgpack::from_packet_json(data.as_str(), attachments) {
        Ok(value) => value,
        // A placeholder naming no attachment is sent as the object it is,
        // as socket.io-parser's reconstruction would leave it. RawJson is
        // valid JSON, so the second parse cannot fail.
        Err(_) => msgpack::from_json(data.as_str()).unwrap_or(Value::Nil),
    }
}

fn packet_size_hint(packet: &Packet) -> usize {
    let data = packet.data.as_ref().map_or(0, |data| data.as_str().len());
    let buffers: usize = packet.attachments.iter().map(Bytes::len).sum();
    24 + packet.nsp.len() + data + buffers
}

/// Per-connection state of [`MsgPackParser`]: none beyond the limits, as
/// every packet is one message.
#[derive(Debug, Clone)]
pub struct MsgPackDecoder {
    limits: Limits,
}

impl PacketDecoder for MsgPackDecoder {
    /// notepack.io refuses strings: a text message is a parse error.
    fn decode_text(&mut self, _text: ByteString) -> Result<Option<Packet>, PacketError> {
        Err(PacketError::TextMessage)
    }

    fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, PacketError> {
        decode_packet(&data, &self.limits).map(Some)
    }
}

/// One packet from its MessagePack bytes, checked as npm
/// `socket.io-msgpack-parser` checks it (type, then namespace, then data,
/// then id), with the JSON parser's payload shapes and `limits` on its
/// buffers. The decoded tree is bounded by the message size (the
/// transport's limit) and by [`msgpack::MAX_DEPTH`].
pub fn decode_packet(data: &Bytes, limits: &Limits) -> Result<Packet, PacketError> {
    let value = msgpack::decode(data).map_err(PacketError::MessagePack)?;
    let kind = match value.get("type") {
        Some(Value::Int(number @ 0..=4)) => match *number {
            0 => PacketType::Connect,
            1 => PacketType::Disconnect,
            2 => PacketType::Event,
            3 => PacketType::Ack,
            _ => PacketType::ConnectError,
        },
        _ => return Err(PacketError::InvalidType),
    };
    let nsp = match value.get("nsp") {
        Some(Value::Str(nsp)) => ByteString::from(nsp.as_str()),
        _ => return Err(PacketError::InvalidNamespace),
    };
    // notepack.io 2.x (the parser's) writes an `undefined` property as
    // `fixext 1` type 0, which reads back as nil: the reference client
    // sends `data: undefined` in every CONNECT without auth. Nil is no data.
    let data = match value.get("data") {
        None | Some(Value::Nil) => None,
        Some(data) => Some(data),
    };
    if !is_data_valid(kind, data) {
        return Err(PacketError::InvalidPayload);
    }
    let (data, attachments) = match data {
        None => (None, Vec::new()),
        Some(data) => {
            let (text, buffers) = msgpack::to_packet_json(data);
            (Some(RawJson::from_trusted(ByteString::from(text))), buffers)
        }
    };
    check_payload(kind, data.as_ref())?;
    let id = match value.get("id") {
        None => None,
        Some(Value::Int(id)) => Some(u64::try_from(*id).map_err(|_| PacketError::InvalidAckId)?),
        Some(_) => return Err(PacketError::InvalidAckId),
    };
    check_buffers(&attachments, limits)?;
    let kind = match kind {
        PacketType::Event if !attachments.is_empty() => PacketType::BinaryEvent,
        PacketType::Ack if !attachments.is_empty() => PacketType::BinaryAck,
        other => other,
    };
    Ok(Packet {
        kind,
        nsp,
        id,
        data,
        attachments,
    })
}

/// The reference's `isDataValid`: an object (not a buffer, array or
/// date) or nothing for CONNECT, nothing for DISCONNECT, a string or an
/// object for CONNECT_ERROR, an array otherwise.
fn is_data_valid(kind: PacketType, data: Option<&Value>) -> bool {
    match kind {
        PacketType::Connect => matches!(data, None | Some(Value::Map(_))),
        PacketType::Disconnect => data.is_none(),
        PacketType::ConnectError => matches!(data, Some(Value::Str(_) | Value::Map(_))),
        _ => matches!(data, Some(Value::Array(_))),
    }
}

/// The buffers of one packet count against the attachment limits, as the
/// JSON parser's attachments do.
fn check_buffers(buffers: &[Bytes], limits: &Limits) -> Result<(), PacketError> {
    let bytes = buffers
        .iter()
        .map(Bytes::len)
        .fold(0usize, usize::saturating_add);
    if buffers.len() > limits.max_attachments || bytes > limits.max_attachment_bytes {
        return Err(PacketError::TooManyAttachments);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn limits() -> Limits {
        Limits::default()
    }

    fn event(json: &str, attachments: Vec<Bytes>) -> Packet {
        let data = RawJson::parse(ByteString::from(json)).expect("valid JSON");
        Packet::event("/", data, attachments)
    }

    #[test]
    fn a_binary_event_is_one_message_of_type_2_with_the_buffer_inline() {
        let packet = event(
            r#"["up",{"_placeholder":true,"num":0}]"#,
            vec![Bytes::from_static(&[1, 2])],
        );
        let mut out = Vec::new();
        MsgPackParser.encode(&packet, &mut out);
        let [engine::Packet::Binary(bytes)] = out.as_slice() else {
            panic!("one binary message, got {out:?}");
        };
        // {type: 2, data: ["up", <Buffer 01 02>], nsp: "/"}
        let expected: &[u8] = &[
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a', 0x92, 0xa2,
            b'u', b'p', 0xc4, 0x02, 0x01, 0x02, 0xa3, b'n', b's', b'p', 0xa1, b'/',
        ];
        assert_eq!(bytes.as_ref(), expected);
        let decoded = decode_packet(bytes, &limits()).expect("decodes");
        assert_eq!(decoded, packet);
    }

    #[test]
    fn undefined_data_is_no_data() {
        // The reference client's CONNECT: {type: 0, nsp: "/", data: undefined}.
        let bytes = Bytes::from_static(&[
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x00, 0xa3, b'n', b's', b'p', 0xa1, b'/', 0xa4,
            b'd', b'a', b't', b'a', 0xd4, 0x00, 0x00,
        ]);
        assert_eq!(
            decode_packet(&bytes, &limits()),
            Ok(Packet::connect("/", None))
        );
    }

    #[test]
    fn text_is_refused() {
        let mut decoder = MsgPackParser.decoder(limits());
        assert_eq!(
            decoder.decode_text(ByteString::from_static("2[\"a\"]")),
            Err(PacketError::TextMessage)
        );
    }

    fn map(entries: &[(&str, Value)]) -> Bytes {
        let entries = entries
            .iter()
            .map(|(key, value)| (String::from(*key), value.clone()))
            .collect();
        Bytes::from(msgpack::to_vec(&Value::Map(entries)).expect("small"))
    }

    #[test]
    fn checks_in_the_reference_order() {
        let nsp = ("nsp", Value::str("/"));
        let cases: &[(Bytes, PacketError)] = &[
            (Bytes::from_static(&[0x05]), PacketError::InvalidType),
            (
                map(&[("type", Value::Int(5)), nsp.clone()]),
                PacketError::InvalidType,
            ),
            (
                map(&[("type", Value::Int(2))]),
                PacketError::InvalidNamespace,
            ),
            (
                map(&[
                    ("type", Value::Int(2)),
                    nsp.clone(),
                    ("data", Value::Int(1)),
                ]),
                PacketError::InvalidPayload,
            ),
            (
                map(&[
                    ("type", Value::Int(1)),
                    nsp.clone(),
                    ("data", Value::Bool(false)),
                ]),
                PacketError::InvalidPayload,
            ),
            (
                map(&[
                    ("type", Value::Int(0)),
                    nsp.clone(),
                    ("data", Value::Array(vec![])),
                ]),
                PacketError::InvalidPayload,
            ),
            (
                map(&[
                    ("type", Value::Int(3)),
                    nsp.clone(),
                    ("data", Value::Array(vec![])),
                    ("id", Value::Int(-1)),
                ]),
                PacketError::InvalidAckId,
            ),
            (
                map(&[
                    ("type", Value::Int(3)),
                    nsp.clone(),
                    ("data", Value::Array(vec![])),
                    ("id", Value::Float(1.5)),
                ]),
                PacketError::InvalidAckId,
            ),
            (
                Bytes::from_static(&[0xc1]),
                PacketError::MessagePack(msgpack::DecodeError::Reserved),
            ),
        ];
        for (bytes, error) in cases {
            assert_eq!(
                decode_packet(bytes, &limits()).as_ref(),
                Err(error),
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn buffers_count_against_the_attachment_limits() {
        let buffers = |count: usize, size: usize| {
            let mut items = vec![Value::str("e")];
            items.extend((0..count).map(|_| Value::Bin(Bytes::from(vec![0u8; size]))));
            map(&[
                ("type", Value::Int(2)),
                ("nsp", Value::str("/")),
                ("data", Value::Array(items)),
            ])
        };
        let limits = Limits {
            max_attachments: 2,
            max_attachment_bytes: 10,
        };
        assert!(decode_packet(&buffers(2, 5), &limits).is_ok());
        assert_eq!(
            decode_packet(&buffers(3, 1), &limits),
            Err(PacketError::TooManyAttachments)
        );
        assert_eq!(
            decode_packet(&buffers(1, 11), &limits),
            Err(PacketError::TooManyAttachments)
        );
    }

    #[test]
    fn extra_keys_and_any_key_order_are_accepted() {
        // The reference client adds `options` and writes `nsp` last.
        let bytes = map(&[
            ("type", Value::Int(2)),
            (
                "data",
                Value::Array(vec![Value::str("a"), Value::Float(1.5)]),
            ),
            (
                "options",
                Value::Map(vec![(String::from("compress"), Value::Bool(true))]),
            ),
            ("id", Value::Int(7)),
            ("nsp", Value::str("/chat")),
        ]);
        let packet = decode_packet(&bytes, &limits()).expect("decodes");
        let expected = Packet {
            nsp: ByteString::from_static("/chat"),
            ..event(r#"["a",1.5]"#, vec![]).with_id(7)
        };
        assert_eq!(packet, expected);
    }
}
