//! The MessagePack parser against npm `socket.io-msgpack-parser`: packets
//! it encoded (fixtures/msgpack_packets.jsonl, made by
//! fixtures/msgpack_packets.js) decode to the packets sio holds, and sio
//! writes the same bytes for them; proptest round trips; arbitrary bytes
//! never panic.

use bytes::Bytes;
use bytestring::ByteString;
use proptest::prelude::*;
use serde_json::Value;
use sio_core::engine;
use sio_core::packet::{
    decode_msgpack, encode_msgpack, Limits, MsgPackParser, Packet, PacketDecoder, PacketType,
    Parser, RawJson,
};

const FIXTURES: &str = include_str!("fixtures/msgpack_packets.jsonl");

fn roomy() -> Limits {
    Limits {
        max_attachments: 100,
        max_attachment_bytes: 1 << 20,
    }
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn expected_packet(line: &Value) -> Packet {
    let packet = &line["packet"];
    let digit = u8::try_from(packet["type"].as_u64().expect("type")).expect("small");
    Packet {
        kind: PacketType::from_digit(b'0' + digit).expect("known type"),
        nsp: ByteString::from(packet["nsp"].as_str().expect("nsp")),
        id: packet["id"].as_u64(),
        data: packet["data"]
            .as_str()
            .map(|text| RawJson::parse(ByteString::from(text)).expect("valid JSON")),
        attachments: packet["attachments"]
            .as_array()
            .expect("attachments")
            .iter()
            .map(|hex| Bytes::from(unhex(hex.as_str().expect("hex"))))
            .collect(),
    }
}

/// Data compared as JSON values: the texts may space or order keys differently.
fn data_value(packet: &Packet) -> Option<Value> {
    packet
        .data
        .as_ref()
        .map(|data| serde_json::from_str(data.as_str()).expect("valid JSON"))
}

fn assert_same(got: &Packet, want: &Packet, name: &str) {
    assert_eq!(got.kind, want.kind, "{name}: kind");
    assert_eq!(got.nsp, want.nsp, "{name}: nsp");
    assert_eq!(got.id, want.id, "{name}: id");
    assert_eq!(data_value(got), data_value(want), "{name}: data");
    assert_eq!(got.attachments, want.attachments, "{name}: attachments");
}

#[test]
fn npm_bytes_decode_and_sio_writes_them_back() {
    let mut exact = 0;
    let mut count = 0;
    for line in FIXTURES.lines() {
        let line: Value = serde_json::from_str(line).expect("fixture line");
        let name = line["name"].as_str().expect("name");
        let bytes = Bytes::from(unhex(line["bytes"].as_str().expect("bytes")));
        let want = expected_packet(&line);
        let got = decode_msgpack(&bytes, &roomy()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same(&got, &want, name);
        if line["exact"].as_bool() == Some(true) {
            assert_eq!(encode_msgpack(&want), bytes.to_vec(), "{name}: sio's bytes");
            exact += 1;
        }
        count += 1;
    }
    assert_eq!((count, exact), (19, 16), "every fixture line was read");
}

#[test]
fn the_parser_sends_one_binary_message_per_packet() {
    let line: Value =
        serde_json::from_str(FIXTURES.lines().nth(8).expect("binary event")).expect("fixture line");
    assert_eq!(line["name"], "binary event");
    let packet = expected_packet(&line);
    assert_eq!(packet.attachments.len(), 3);
    let mut out = Vec::new();
    MsgPackParser.encode(&packet, &mut out);
    let [engine::Packet::Binary(bytes)] = out.as_slice() else {
        panic!("one binary message, got {} messages", out.len());
    };
    let mut decoder = MsgPackParser.decoder(Limits::default());
    let decoded = decoder.decode_binary(bytes.clone()).expect("decodes");
    assert_eq!(decoded, Some(packet));
}

// ----- proptest -----

/// A JavaScript value with buffers, as the tree the data is made from.
#[derive(Debug, Clone)]
enum Js {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Js>),
    Map(Vec<(String, Js)>),
}

fn js() -> impl Strategy<Value = Js> {
    let leaf = prop_oneof![
        Just(Js::Null),
        any::<bool>().prop_map(Js::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(Js::Int),
        // Integral doubles are integers in JavaScript (and on the wire).
        any::<f64>()
            .prop_filter("non-integral, finite", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(Js::Float),
        ".{0,40}".prop_map(Js::Str),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Js::Bin),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Js::Array),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..6)
                .prop_map(|map| Js::Map(map.into_iter().collect())),
        ]
    })
}

/// The JSON with placeholders, collecting buffers in order.
fn to_json(value: &Js, buffers: &mut Vec<Bytes>) -> Value {
    match value {
        Js::Null => Value::Null,
        Js::Bool(flag) => Value::Bool(*flag),
        Js::Int(int) => Value::from(*int),
        Js::Float(number) => Value::from(*number),
        Js::Str(text) => Value::from(text.as_str()),
        Js::Bin(data) => {
            buffers.push(Bytes::from(data.clone()));
            serde_json::json!({"_placeholder": true, "num": buffers.len() - 1})
        }
        Js::Array(items) => Value::Array(items.iter().map(|i| to_json(i, buffers)).collect()),
        Js::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v, buffers)))
                .collect(),
        ),
    }
}

fn packet_of(kind: u8, nsp: String, id: Option<u64>, args: Vec<Js>, name: String) -> Packet {
    let mut buffers = Vec::new();
    let args: Vec<Value> = args.iter().map(|a| to_json(a, &mut buffers)).collect();
    let (kind, data) = match kind {
        0 => (PacketType::Connect, Some(serde_json::json!({"auth": args}))),
        1 => (PacketType::Disconnect, None),
        2 => {
            let mut items = vec![Value::from(name)];
            items.extend(args);
            (PacketType::Event, Some(Value::Array(items)))
        }
        3 => (PacketType::Ack, Some(Value::Array(args))),
        _ => (
            PacketType::ConnectError,
            Some(serde_json::json!({"message": name, "data": args})),
        ),
    };
    if data.is_none() {
        buffers.clear();
    }
    let kind = match kind {
        PacketType::Event if !buffers.is_empty() => PacketType::BinaryEvent,
        PacketType::Ack if !buffers.is_empty() => PacketType::BinaryAck,
        other => other,
    };
    Packet {
        kind,
        nsp: ByteString::from(nsp),
        id,
        data: data.map(|d| RawJson::from_serialize(&d).expect("serializable")),
        attachments: buffers,
    }
}

fn any_packet() -> impl Strategy<Value = Packet> {
    (
        0u8..5,
        "/[a-z0-9é]{0,8}",
        proptest::option::of(0u64..(1 << 63)),
        proptest::collection::vec(js(), 0..4),
        "[a-z]{1,8}",
    )
        .prop_map(|(kind, nsp, id, args, name)| packet_of(kind, nsp, id, args, name))
}

proptest! {
    #[test]
    fn packets_round_trip(packet in any_packet()) {
        let bytes = Bytes::from(encode_msgpack(&packet));
        let decoded = decode_msgpack(&bytes, &roomy()).expect("own bytes decode");
        // Buffers in CONNECT / CONNECT_ERROR data are attachments too.
        assert_same(&decoded, &packet, "round trip");
        // Encoding what was decoded gives the same bytes.
        prop_assert_eq!(encode_msgpack(&decoded), bytes.to_vec());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let bytes = Bytes::from(bytes);
        let decoded = decode_msgpack(&bytes, &Limits::default());
        // (A placeholder look-alike becomes a buffer once re-encoded: the fuzz target covers it.)
        let look_alike = matches!(&decoded, Ok(p) if p.data.as_ref().is_some_and(|d| d.as_str().contains("_placeholder")));
        if let (Ok(packet), false) = (decoded, look_alike) {
            let again = Bytes::from(encode_msgpack(&packet));
            prop_assert_eq!(decode_msgpack(&again, &Limits::default()), Ok(packet));
        }
    }
}
