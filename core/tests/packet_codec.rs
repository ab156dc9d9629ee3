//! Socket.IO v5 packet codec: every example of the protocol documents byte
//! for byte in both directions, every error with its exact kind, and
//! proptest round trips through `JsonParser`.

use bytes::Bytes;
use bytestring::ByteString;
use proptest::prelude::*;
use serde_json::{json, Value};
use sio_core::engine;
use sio_core::packet::{
    encode_text, Decoder, JsonParser, Limits, Packet, PacketError, PacketType, Parser, RawJson,
};

fn raw(text: &str) -> RawJson {
    RawJson::parse(ByteString::from(text)).expect("test JSON is valid")
}

fn packet(
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    data: Option<&str>,
    attachments: &[&[u8]],
) -> Packet {
    Packet {
        kind,
        nsp: ByteString::from(nsp),
        id,
        data: data.map(raw),
        attachments: attachments
            .iter()
            .map(|a| Bytes::copy_from_slice(a))
            .collect(),
    }
}

/// Feeds engine messages to a fresh decoder; the packet the last one completes.
fn decode_messages(messages: &[engine::Packet]) -> Result<Option<Packet>, PacketError> {
    let mut decoder = JsonParser.decoder(Limits::default());
    let mut decoded = None;
    for (i, message) in messages.iter().enumerate() {
        let step = match message {
            engine::Packet::Message(text) => decoder.decode_text(text.clone())?,
            engine::Packet::Binary(data) => decoder.decode_binary(data.clone())?,
            other => panic!("the parser emitted a non-message {other:?}"),
        };
        assert!(decoded.is_none(), "a packet came out before message {i}");
        decoded = step;
    }
    Ok(decoded)
}

fn wire(text: &str, attachments: &[&[u8]]) -> Vec<engine::Packet> {
    let mut messages = vec![engine::Packet::Message(ByteString::from(text))];
    messages.extend(
        attachments
            .iter()
            .map(|a| engine::Packet::Binary(Bytes::copy_from_slice(a))),
    );
    messages
}

fn encode_messages(packet: &Packet) -> Vec<engine::Packet> {
    let mut out = Vec::new();
    JsonParser.encode(packet, &mut out);
    out
}

use PacketType::*;

/// `(wire text, attachments, packet)`: both directions, byte for byte.
#[allow(clippy::type_complexity)]
const EXAMPLES: &[(&str, &[&[u8]], PacketType, &str, Option<u64>, Option<&str>)] = &[
    // Socket.IO protocol v5, "Packet encoding" examples.
    ("0", &[], Connect, "/", None, None),
    (
        "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}",
        &[],
        Connect,
        "/admin",
        None,
        Some("{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}"),
    ),
    (
        "4{\"message\":\"Not authorized\"}",
        &[],
        ConnectError,
        "/",
        None,
        Some("{\"message\":\"Not authorized\"}"),
    ),
    ("2[\"foo\"]", &[], Event, "/", None, Some("[\"foo\"]")),
    (
        "2/admin,[\"bar\"]",
        &[],
        Event,
        "/admin",
        None,
        Some("[\"bar\"]"),
    ),
    (
        "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]",
        &[&[1, 2, 3, 4]],
        BinaryEvent,
        "/",
        None,
        Some("[\"baz\",{\"_placeholder\":true,\"num\":0}]"),
    ),
    (
        "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
        &[&[1, 2], &[3, 4]],
        BinaryEvent,
        "/admin",
        None,
        Some("[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"),
    ),
    ("212[\"foo\"]", &[], Event, "/", Some(12), Some("[\"foo\"]")),
    (
        "3/admin,13[\"bar\"]",
        &[],
        Ack,
        "/admin",
        Some(13),
        Some("[\"bar\"]"),
    ),
    (
        "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]",
        &[&[1, 2, 3, 4]],
        BinaryAck,
        "/",
        Some(15),
        Some("[\"bar\",{\"_placeholder\":true,\"num\":0}]"),
    ),
    ("1", &[], Disconnect, "/", None, None),
    ("1/admin,", &[], Disconnect, "/admin", None, None),
    // Socket.IO protocol v5, "Sample session" (without the Engine.IO `4`).
    (
        "0{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}",
        &[],
        Connect,
        "/",
        None,
        Some("{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}"),
    ),
    (
        "2[\"hey\",\"Jude\"]",
        &[],
        Event,
        "/",
        None,
        Some("[\"hey\",\"Jude\"]"),
    ),
    ("2[\"hello\"]", &[], Event, "/", None, Some("[\"hello\"]")),
    ("2[\"world\"]", &[], Event, "/", None, Some("[\"world\"]")),
    ("0/admin,", &[], Connect, "/admin", None, None),
    (
        "0/admin,{\"sid\":\"-G5j-67EZFp-q59rADQM\"}",
        &[],
        Connect,
        "/admin",
        None,
        Some("{\"sid\":\"-G5j-67EZFp-q59rADQM\"}"),
    ),
    (
        "2/admin,1[\"tellme\"]",
        &[],
        Event,
        "/admin",
        Some(1),
        Some("[\"tellme\"]"),
    ),
    (
        "61-/admin,1[{\"_placeholder\":true,\"num\":0}]",
        &[&[0xde, 0xad]],
        BinaryAck,
        "/admin",
        Some(1),
        Some("[{\"_placeholder\":true,\"num\":0}]"),
    ),
    // The same wire format as documented with the v4 protocol.
    (
        "2[\"hello\",1]",
        &[],
        Event,
        "/",
        None,
        Some("[\"hello\",1]"),
    ),
    (
        "2/admin,456[\"project:delete\",123]",
        &[],
        Event,
        "/admin",
        Some(456),
        Some("[\"project:delete\",123]"),
    ),
    ("3/admin,456[]", &[], Ack, "/admin", Some(456), Some("[]")),
    (
        "4/admin,\"Not authorized\"",
        &[],
        ConnectError,
        "/admin",
        None,
        Some("\"Not authorized\""),
    ),
    (
        "51-[\"hello\",{\"_placeholder\":true,\"num\":0}]",
        &[&[1, 2, 3]],
        BinaryEvent,
        "/",
        None,
        Some("[\"hello\",{\"_placeholder\":true,\"num\":0}]"),
    ),
    (
        "51-/admin,456[\"project:delete\",{\"_placeholder\":true,\"num\":0}]",
        &[&[1, 2, 3]],
        BinaryEvent,
        "/admin",
        Some(456),
        Some("[\"project:delete\",{\"_placeholder\":true,\"num\":0}]"),
    ),
    (
        "61-/admin,456[{\"_placeholder\":true,\"num\":0}]",
        &[&[3, 2, 1]],
        BinaryAck,
        "/admin",
        Some(456),
        Some("[{\"_placeholder\":true,\"num\":0}]"),
    ),
    // The protocol's test suite.
    (
        "0{\"token\":\"123\"}",
        &[],
        Connect,
        "/",
        None,
        Some("{\"token\":\"123\"}"),
    ),
    ("0/custom,", &[], Connect, "/custom", None, None),
    (
        "0/custom,{\"token\":\"abc\"}",
        &[],
        Connect,
        "/custom",
        None,
        Some("{\"token\":\"abc\"}"),
    ),
    (
        "2[\"auth\",{\"token\":\"123\"}]",
        &[],
        Event,
        "/",
        None,
        Some("[\"auth\",{\"token\":\"123\"}]"),
    ),
    (
        "2/custom,[\"auth\",{}]",
        &[],
        Event,
        "/custom",
        None,
        Some("[\"auth\",{}]"),
    ),
    (
        "4/random,{\"message\":\"Invalid namespace\"}",
        &[],
        ConnectError,
        "/random",
        None,
        Some("{\"message\":\"Invalid namespace\"}"),
    ),
    (
        "2[\"message\",1,\"2\",{\"3\":[true]}]",
        &[],
        Event,
        "/",
        None,
        Some("[\"message\",1,\"2\",{\"3\":[true]}]"),
    ),
    (
        "52-[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
        &[&[1, 2, 3], &[4, 5, 6]],
        BinaryEvent,
        "/",
        None,
        Some("[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"),
    ),
    // Key order and inner text are kept exactly.
    (
        "2[\"e\",{\"b\":1,\"a\":2}]",
        &[],
        Event,
        "/",
        None,
        Some("[\"e\",{\"b\":1,\"a\":2}]"),
    ),
    (
        "2[\"e\", {\"b\" : 1.50e3}]",
        &[],
        Event,
        "/",
        None,
        Some("[\"e\", {\"b\" : 1.50e3}]"),
    ),
    // Reference-accepted forms: a numeric event name, no data at all, a
    // binary packet with no attachments, the largest id.
    ("2[1,2]", &[], Event, "/", None, Some("[1,2]")),
    ("2", &[], Event, "/", None, None),
    ("3/admin,7", &[], Ack, "/admin", Some(7), None),
    ("4", &[], ConnectError, "/", None, None),
    ("50-[\"a\"]", &[], BinaryEvent, "/", None, Some("[\"a\"]")),
    (
        "218446744073709551615[\"a\"]",
        &[],
        Event,
        "/",
        Some(u64::MAX),
        Some("[\"a\"]"),
    ),
    ("30[]", &[], Ack, "/", Some(0), Some("[]")),
];

#[test]
fn protocol_examples_decode_exactly() {
    for &(text, attachments, kind, nsp, id, data) in EXAMPLES {
        let expected = packet(kind, nsp, id, data, attachments);
        assert_eq!(
            decode_messages(&wire(text, attachments)),
            Ok(Some(expected)),
            "decoding {text:?}"
        );
    }
}

#[test]
fn protocol_examples_encode_exactly() {
    for &(text, attachments, kind, nsp, id, data) in EXAMPLES {
        let packet = packet(kind, nsp, id, data, attachments);
        assert_eq!(
            encode_messages(&packet),
            wire(text, attachments),
            "encoding {text:?}"
        );
    }
}

#[test]
fn binary_packets_wait_for_every_attachment() {
    let mut decoder = Decoder::new(Limits::default());
    let text =
        "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]";
    assert_eq!(decoder.decode_text(ByteString::from(text)), Ok(None));
    assert!(decoder.is_reconstructing());
    assert_eq!(decoder.decode_binary(Bytes::from_static(&[1, 2])), Ok(None));
    assert!(decoder.is_reconstructing());
    let packet = decoder
        .decode_binary(Bytes::from_static(&[3, 4]))
        .unwrap()
        .unwrap();
    assert!(!decoder.is_reconstructing());
    assert_eq!(
        packet.attachments,
        [Bytes::from_static(&[1, 2]), Bytes::from_static(&[3, 4])]
    );
    // Placeholders stay in the text for the application layer.
    assert_eq!(packet.data.unwrap().as_str(), &text[10..]);
    // And the decoder goes on.
    assert_eq!(
        decoder
            .decode_text(ByteString::from("2[\"a\"]"))
            .unwrap()
            .unwrap()
            .kind,
        Event
    );
}

/// Texts that decode, but to a packet whose canonical encoding differs.
#[test]
fn lenient_forms_decode_to_their_canonical_packet() {
    for (text, canonical) in [
        // A namespace needs no comma when nothing follows (the reference
        // server answers `40/random` with a CONNECT_ERROR for `/random`).
        ("0/random", "0/random,"),
        ("0/admin", "0/admin,"),
        ("1/admin", "1/admin,"),
        // Without a comma the namespace runs to the end of the text.
        ("2/admin[\"a\"]", "2/admin[\"a\"],"),
        // An explicit main namespace.
        ("2/,[\"a\"]", "2[\"a\"]"),
        // Leading zeros.
        ("2007[\"a\"]", "27[\"a\"]"),
        (
            "501-[\"a\",{\"_placeholder\":true,\"num\":0}]",
            "51-[\"a\",{\"_placeholder\":true,\"num\":0}]",
        ),
        // Whitespace around the JSON (JSON.parse allows it).
        ("0 {\"a\":1}\n", "0{\"a\":1}"),
        ("2/x,\t[\"a\"] ", "2/x,[\"a\"]"),
        // Escaped event names are still not reserved names.
        ("2[\"conn\\u0065cted\"]", "2[\"conn\\u0065cted\"]"),
        ("2[\"\\ud800\"]", "2[\"\\ud800\"]"),
    ] {
        let attachments: &[&[u8]] = if text.starts_with('5') { &[b"x"] } else { &[] };
        let decoded = decode_messages(&wire(text, attachments)).unwrap().unwrap();
        assert_eq!(
            encode_messages(&decoded),
            wire(canonical, attachments),
            "{text:?}"
        );
    }
}

#[test]
fn namespace_edge_cases() {
    let decoded = decode_messages(&wire("2/admin[\"a\"]", &[]))
        .unwrap()
        .unwrap();
    assert_eq!(&*decoded.nsp, "/admin[\"a\"]");
    assert_eq!(decoded.data, None);
    let decoded = decode_messages(&wire("0/ä/ö,{}", &[])).unwrap().unwrap();
    assert_eq!(&*decoded.nsp, "/ä/ö");
}

/// Every error, with the messages that lead to it.
#[test]
fn errors_are_exact() {
    use PacketError::*;
    let text = |t: &str| engine::Packet::Message(ByteString::from(t));
    let binary = |b: &'static [u8]| engine::Packet::Binary(Bytes::from_static(b));
    let reserved = [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ];
    let mut cases: Vec<(Vec<engine::Packet>, PacketError)> = vec![
        (vec![text("")], Empty),
        (vec![text("7")], UnknownType(b'7')),
        (vec![text("9[\"a\"]")], UnknownType(b'9')),
        (vec![text("a")], UnknownType(b'a')),
        (vec![text(" 0")], UnknownType(b' ')),
        (vec![text("-1")], UnknownType(b'-')),
        (vec![text("é")], UnknownType(0xc3)),
        (vec![text("5")], InvalidAttachmentCount),
        (vec![text("5[\"a\"]")], InvalidAttachmentCount),
        (vec![text("5-[\"a\"]")], InvalidAttachmentCount),
        (vec![text("51[\"a\"]")], InvalidAttachmentCount),
        (vec![text("51")], InvalidAttachmentCount),
        (vec![text("51x-[\"a\"]")], InvalidAttachmentCount),
        (vec![text("5 1-[\"a\"]")], InvalidAttachmentCount),
        (vec![text("5/admin,1-[\"a\"]")], InvalidAttachmentCount),
        (vec![text("6")], InvalidAttachmentCount),
        (vec![text("511-[\"a\"]")], TooManyAttachments),
        (
            vec![text("599999999999999999999999999-[\"a\"]")],
            TooManyAttachments,
        ),
        (vec![text("218446744073709551616[\"a\"]")], AckIdOverflow),
        (
            vec![text("3/admin,99999999999999999999999[]")],
            AckIdOverflow,
        ),
        (vec![text("2[\"a\"")], InvalidJson),
        (vec![text("2[\"a\"]x")], InvalidJson),
        (vec![text("2[\"a\"][]")], InvalidJson),
        (vec![text("2admin,[\"a\"]")], InvalidJson),
        (vec![text("2/admin,1,[\"a\"]")], InvalidJson),
        (vec![text("0/admin,x")], InvalidJson),
        (vec![text("1x")], InvalidJson),
        (vec![text("0{'a':1}")], InvalidJson),
        (vec![text("2 ")], InvalidJson),
        (vec![text("0[]")], InvalidPayload),
        (vec![text("0\"s\"")], InvalidPayload),
        (vec![text("0null")], InvalidPayload),
        (vec![text("1{}")], InvalidPayload),
        (vec![text("1/admin,{}")], InvalidPayload),
        (vec![text("1[]")], InvalidPayload),
        (vec![text("2{}")], InvalidPayload),
        (vec![text("2[]")], InvalidPayload),
        (vec![text("2\"a\"")], InvalidPayload),
        (vec![text("2[{}]")], InvalidPayload),
        (vec![text("2[[\"a\"]]")], InvalidPayload),
        (vec![text("2[null]")], InvalidPayload),
        (vec![text("2[true]")], InvalidPayload),
        (vec![text("3{}")], InvalidPayload),
        (vec![text("3\"a\"")], InvalidPayload),
        (vec![text("3null")], InvalidPayload),
        (vec![text("4[]")], InvalidPayload),
        (vec![text("4null")], InvalidPayload),
        (vec![text("4true")], InvalidPayload),
        (vec![text("41[]")], InvalidPayload),
        (vec![text("50-[]")], InvalidPayload),
        (
            vec![text("51-{\"_placeholder\":true,\"num\":0}")],
            InvalidPayload,
        ),
        (
            vec![text("51-[{\"_placeholder\":true,\"num\":0}]")],
            InvalidPayload,
        ),
        (vec![text("61-{}")], InvalidPayload),
        (
            vec![text("51-[\"a\",{\"_placeholder\":true,\"num\":1}]")],
            AttachmentMismatch,
        ),
        (
            vec![text("50-[\"a\",{\"_placeholder\":true,\"num\":0}]")],
            AttachmentMismatch,
        ),
        (
            vec![text("61-[{\"_placeholder\":true,\"num\":-1}]")],
            AttachmentMismatch,
        ),
        (
            vec![text("61-[{\"_placeholder\":true,\"num\":0.5}]")],
            AttachmentMismatch,
        ),
        (
            vec![text("61-[{\"_placeholder\":true,\"num\":\"0\"}]")],
            AttachmentMismatch,
        ),
        (
            vec![text("61-[{\"_placeholder\":true}]")],
            AttachmentMismatch,
        ),
        (
            vec![text("62-[{\"a\":[{\"_placeholder\":true,\"num\":2}]}]")],
            AttachmentMismatch,
        ),
        (vec![binary(b"x")], UnexpectedBinary),
        (vec![text("2[\"a\"]"), binary(b"x")], UnexpectedBinary),
        (
            vec![text("51-[\"a\"]"), binary(b"x"), binary(b"y")],
            UnexpectedBinary,
        ),
        (vec![text("51-[\"a\"]"), text("2[\"a\"]")], UnexpectedText),
        (
            vec![text("52-[\"a\"]"), binary(b"x"), text("51-[\"a\"]")],
            UnexpectedText,
        ),
    ];
    for name in reserved {
        cases.push((vec![text(&format!("2[\"{name}\",1]"))], InvalidPayload));
        cases.push((
            vec![text(&format!(
                "51-[\"{name}\",{{\"_placeholder\":true,\"num\":0}}]"
            ))],
            InvalidPayload,
        ));
    }
    for (messages, expected) in cases {
        assert_eq!(
            decode_messages(&messages),
            Err(expected.clone()),
            "{messages:?}"
        );
    }
}

#[test]
fn attachment_limits() {
    let limits = Limits {
        max_attachments: 2,
        max_attachment_bytes: 5,
    };
    let mut decoder = Decoder::new(limits);
    assert_eq!(
        decoder.decode_text(ByteString::from("53-[\"a\"]")),
        Err(PacketError::TooManyAttachments)
    );
    assert!(!decoder.is_reconstructing());
    assert_eq!(decoder.decode_text(ByteString::from("62-[]")), Ok(None));
    assert_eq!(decoder.decode_binary(Bytes::from_static(b"abc")), Ok(None));
    assert_eq!(
        decoder.decode_binary(Bytes::from_static(b"def")),
        Err(PacketError::TooManyAttachments)
    );
    assert!(!decoder.is_reconstructing());
    assert_eq!(decoder.decode_text(ByteString::from("62-[]")), Ok(None));
    assert_eq!(decoder.decode_binary(Bytes::from_static(b"abc")), Ok(None));
    let done = decoder
        .decode_binary(Bytes::from_static(b"de"))
        .unwrap()
        .unwrap();
    assert_eq!(done.attachments.len(), 2);
}

#[test]
fn constructors() {
    let event = Packet::event("/", raw("[\"a\"]"), vec![]);
    assert_eq!(&*encode_text(&event), "2[\"a\"]");
    let event = Packet::event(
        "/x",
        raw("[\"a\",{\"_placeholder\":true,\"num\":0}]"),
        vec![Bytes::from_static(b"z")],
    )
    .with_id(3);
    assert_eq!(event.kind, BinaryEvent);
    assert_eq!(
        &*encode_text(&event),
        "51-/x,3[\"a\",{\"_placeholder\":true,\"num\":0}]"
    );
    assert_eq!(
        &*encode_text(&Packet::ack("/", 9, raw("[]"), vec![])),
        "39[]"
    );
    let ack = Packet::ack(
        "/",
        9,
        raw("[{\"_placeholder\":true,\"num\":0}]"),
        vec![Bytes::new()],
    );
    assert_eq!(ack.kind, BinaryAck);
    assert_eq!(
        &*encode_text(&ack),
        "61-9[{\"_placeholder\":true,\"num\":0}]"
    );
    assert_eq!(&*encode_text(&Packet::connect("/", None)), "0");
    assert_eq!(
        &*encode_text(&Packet::connect("/admin", Some(raw("{\"sid\":\"x\"}")))),
        "0/admin,{\"sid\":\"x\"}"
    );
    assert_eq!(&*encode_text(&Packet::disconnect("/admin")), "1/admin,");
    assert_eq!(
        &*encode_text(&Packet::connect_error("/random", "Invalid namespace", None)),
        "4/random,{\"message\":\"Invalid namespace\"}"
    );
    assert_eq!(
        &*encode_text(&Packet::connect_error(
            "/",
            "say \"no\"\n",
            Some(raw("{\"b\":1,\"a\":[2]}"))
        )),
        "4{\"message\":\"say \\\"no\\\"\\n\",\"data\":{\"b\":1,\"a\":[2]}}"
    );
    // What the constructors build decodes back to itself.
    for packet in [
        event,
        ack,
        Packet::connect_error("/", "x", Some(raw("null"))),
    ] {
        assert_eq!(
            decode_messages(&encode_messages(&packet)),
            Ok(Some(packet.clone()))
        );
    }
}

#[test]
fn packet_types_by_digit() {
    for (digit, kind) in (b'0'..).zip([
        Connect,
        Disconnect,
        Event,
        Ack,
        ConnectError,
        BinaryEvent,
        BinaryAck,
    ]) {
        assert_eq!(PacketType::from_digit(digit), Some(kind));
        assert_eq!(kind.digit(), digit);
        assert_eq!(kind.is_binary(), digit >= b'5');
    }
    assert_eq!(PacketType::from_digit(b'7'), None);
    assert_eq!(PacketType::from_digit(b'/'), None);
}

// ---------------------------------------------------------------- proptest

const RESERVED: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((any::<String>(), json_value()), 0..4)
        .prop_map(|entries| Value::Object(entries.into_iter().collect()))
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[^,]{0,12}"]
}

fn event_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>()
            .prop_filter("not reserved", |n| !RESERVED.contains(&n.as_str()))
            .prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
    ]
}

fn compact(value: &Value) -> RawJson {
    RawJson::from_serialize(value).expect("a Value serializes")
}

/// Arguments with one placeholder per attachment, each at a random place
/// (some wrapped in an object or array).
fn args_with_attachments() -> impl Strategy<Value = (Vec<Value>, Vec<Bytes>)> {
    let attachments = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..16), 0..5);
    (
        prop::collection::vec(json_value(), 0..4),
        attachments,
        prop::collection::vec((any::<prop::sample::Index>(), 0..3u8), 5),
    )
        .prop_map(|(mut args, attachments, places)| {
            for (num, (place, wrap)) in places.iter().take(attachments.len()).enumerate() {
                let placeholder = json!({"_placeholder": true, "num": num});
                let placeholder = match wrap {
                    0 => placeholder,
                    1 => json!({"file": placeholder}),
                    _ => json!([1, placeholder]),
                };
                args.insert(place.index(args.len() + 1), placeholder);
            }
            (args, attachments.into_iter().map(Bytes::from).collect())
        })
}

fn arbitrary_packet() -> impl Strategy<Value = Packet> {
    let id = prop::option::of(any::<u64>());
    prop_oneof![
        (namespace(), id.clone(), prop::option::of(json_object())).prop_map(|(nsp, id, data)| {
            Packet {
                id,
                ..Packet::connect(nsp, data.as_ref().map(compact))
            }
        }),
        (namespace(), id.clone()).prop_map(|(nsp, id)| Packet {
            id,
            ..Packet::disconnect(nsp)
        }),
        (
            namespace(),
            id.clone(),
            prop_oneof![json_object(), any::<String>().prop_map(Value::String)]
        )
            .prop_map(|(nsp, id, data)| Packet {
                kind: ConnectError,
                id,
                data: Some(compact(&data)),
                ..Packet::disconnect(nsp)
            }),
        (
            namespace(),
            id.clone(),
            event_name(),
            args_with_attachments()
        )
            .prop_map(|(nsp, id, name, (mut args, attachments))| {
                args.insert(0, name);
                Packet {
                    id,
                    ..Packet::event(nsp, compact(&Value::Array(args)), attachments)
                }
            }),
        (namespace(), any::<u64>(), args_with_attachments()).prop_map(
            |(nsp, id, (args, attachments))| Packet::ack(
                nsp,
                id,
                compact(&Value::Array(args)),
                attachments
            )
        ),
        // Binary kinds may announce zero attachments; EVENT and ACK may
        // come without data (both accepted by the reference parser).
        (namespace(), id.clone(), event_name()).prop_map(|(nsp, id, name)| Packet {
            kind: BinaryEvent,
            id,
            ..Packet::event(nsp, compact(&Value::Array(vec![name])), vec![])
        }),
        (
            namespace(),
            id,
            prop::sample::select(vec![Event, Ack, BinaryAck])
        )
            .prop_map(|(nsp, id, kind)| Packet {
                kind,
                id,
                ..Packet::disconnect(nsp)
            }),
    ]
}

/// Either a text or a binary message.
fn arbitrary_message() -> impl Strategy<Value = engine::Packet> {
    prop_oneof![
        any::<String>().prop_map(|t| engine::Packet::Message(ByteString::from(t))),
        "[0-6][0-9]{0,2}-?(/[a-z,]{0,4})?[0-9]{0,3}\\[.{0,8}\\]"
            .prop_map(|t| engine::Packet::Message(ByteString::from(t))),
        "5[0-3]-\\[\"a\",\\{\"_placeholder\":true,\"num\":[0-3]\\}\\]"
            .prop_map(|t| engine::Packet::Message(ByteString::from(t))),
        prop::collection::vec(any::<u8>(), 0..8)
            .prop_map(|b| engine::Packet::Binary(Bytes::from(b))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn packets_round_trip(packet in arbitrary_packet()) {
        let messages = encode_messages(&packet);
        prop_assert_eq!(messages.len(), 1 + packet.attachments.len());
        prop_assert_eq!(decode_messages(&messages), Ok(Some(packet)));
    }

    #[test]
    fn any_text_decodes_or_errs_without_panic(text in any::<String>()) {
        let mut decoder = Decoder::new(Limits::default());
        let _ = decoder.decode_text(ByteString::from(text));
    }

    #[test]
    fn header_like_text_decodes_or_errs_without_panic(text in "[0-9][0-9-]{0,4}/?[^\\[]{0,6}[0-9]{0,25}\\PC{0,12}") {
        let mut decoder = Decoder::new(Limits::default());
        let _ = decoder.decode_text(ByteString::from(text));
    }

    #[test]
    fn message_sequences_never_panic_and_results_round_trip(
        messages in prop::collection::vec(arbitrary_message(), 0..8),
        max_attachments in 0usize..4,
        max_attachment_bytes in 0usize..16,
    ) {
        let limits = Limits { max_attachments, max_attachment_bytes };
        let mut decoder = Decoder::new(limits);
        for message in messages {
            let decoded = match message {
                engine::Packet::Message(text) => decoder.decode_text(text),
                engine::Packet::Binary(data) => decoder.decode_binary(data),
                _ => unreachable!(),
            };
            if let Ok(Some(packet)) = decoded {
                let mut again = Decoder::new(limits);
                let mut result = None;
                for message in encode_messages(&packet) {
                    result = match message {
                        engine::Packet::Message(text) => again.decode_text(text),
                        engine::Packet::Binary(data) => again.decode_binary(data),
                        _ => unreachable!(),
                    }.expect("a decoded packet re-decodes");
                }
                prop_assert_eq!(result, Some(packet));
            }
        }
    }
}
