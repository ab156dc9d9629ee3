//! Engine.IO v4 codecs against the examples of the protocol document
//! (socketio/engine.io-protocol README) and the reference parser's tests
//! and changelog, byte for byte in both directions; malformed input; and
//! proptest round trips.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use proptest::prelude::*;
use sio_core::engine::payload::{decode_payload, encode_payload, encoded_payload_len, SEPARATOR};
use sio_core::engine::{DecodeError, OpenPacket, Packet, PacketType};

fn text(data: &'static str) -> ByteString {
    ByteString::from_static(data)
}

fn binary(data: &'static [u8]) -> Packet {
    Packet::Binary(Bytes::from_static(data))
}

const HANDSHAKE_JSON: &str = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

/// Every single packet the documents show, with its exact text form.
fn packet_table() -> Vec<(&'static [u8], Packet)> {
    vec![
        (
            b"0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}",
            Packet::Open(text(HANDSHAKE_JSON)),
        ),
        (b"0", Packet::Open(text(""))),
        (b"1", Packet::Close),
        (b"2", Packet::Ping(text(""))),
        (b"3", Packet::Pong(text(""))),
        (b"2probe", Packet::Ping(text("probe"))),
        (b"3probe", Packet::Pong(text("probe"))),
        (b"4hello", Packet::Message(text("hello"))),
        (b"4test", Packet::Message(text("test"))),
        (b"4hello world", Packet::Message(text("hello world"))),
        ("4€".as_bytes(), Packet::Message(text("€"))),
        ("41€".as_bytes(), Packet::Message(text("1€"))),
        (b"4", Packet::Message(text(""))),
        (b"5", Packet::Upgrade),
        (b"6", Packet::Noop),
        (b"bAQIDBA==", binary(&[1, 2, 3, 4])),
        (b"bAQID", binary(&[1, 2, 3])),
        (b"b", binary(&[])),
    ]
}

/// Every payload the documents show, with its packets.
fn payload_table() -> Vec<(&'static [u8], Vec<Packet>)> {
    vec![
        (
            b"4hello\x1e2\x1e4world",
            vec![
                Packet::Message(text("hello")),
                Packet::Ping(text("")),
                Packet::Message(text("world")),
            ],
        ),
        (
            b"4hello\x1ebAQIDBA==",
            vec![Packet::Message(text("hello")), binary(&[1, 2, 3, 4])],
        ),
        (
            b"4hello\x1ebAQID",
            vec![Packet::Message(text("hello")), binary(&[1, 2, 3])],
        ),
        (
            "4hello\x1e4€".as_bytes(),
            vec![Packet::Message(text("hello")), Packet::Message(text("€"))],
        ),
        (
            "4hello\x1e4€€€".as_bytes(),
            vec![Packet::Message(text("hello")), Packet::Message(text("€€€"))],
        ),
        (
            b"4test1\x1e4test2\x1e4test3",
            vec![
                Packet::Message(text("test1")),
                Packet::Message(text("test2")),
                Packet::Message(text("test3")),
            ],
        ),
        (
            b"0\x1e1\x1e2probe\x1e3probe\x1e4test",
            vec![
                Packet::Open(text("")),
                Packet::Close,
                Packet::Ping(text("probe")),
                Packet::Pong(text("probe")),
                Packet::Message(text("test")),
            ],
        ),
        (
            b"2probe\x1e4test\x1e1",
            vec![
                Packet::Ping(text("probe")),
                Packet::Message(text("test")),
                Packet::Close,
            ],
        ),
        (b"4hello", vec![Packet::Message(text("hello"))]),
        (b"1", vec![Packet::Close]),
        (b"6", vec![Packet::Noop]),
    ]
}

fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_payload(packets, &mut out);
    out.to_vec()
}

#[test]
fn documented_packets_decode() {
    for (wire, packet) in packet_table() {
        let decoded = Packet::decode_record(Bytes::from_static(wire));
        assert_eq!(
            decoded,
            Ok(packet.clone()),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
        let as_text = ByteString::try_from(wire).map_err(|_| DecodeError::InvalidUtf8);
        assert_eq!(as_text.and_then(Packet::decode_text), Ok(packet));
    }
}

#[test]
fn documented_packets_encode() {
    for (wire, packet) in packet_table() {
        assert_eq!(&packet.to_text()[..], wire, "{packet:?}");
        assert_eq!(packet.encoded_len(), wire.len());
    }
}

#[test]
fn documented_packet_types() {
    let types: Vec<PacketType> = packet_table()
        .iter()
        .map(|(_, packet)| packet.packet_type())
        .collect();
    use PacketType::*;
    let expected = [
        Open, Open, Close, Ping, Pong, Ping, Pong, Message, Message, Message, Message, Message,
        Message, Upgrade, Noop, Message, Message, Message,
    ];
    assert_eq!(types, expected);
}

#[test]
fn documented_payloads_decode() {
    for (wire, packets) in payload_table() {
        let decoded = decode_payload(Bytes::from_static(wire), 16);
        assert_eq!(decoded, Ok(packets), "{:?}", String::from_utf8_lossy(wire));
    }
}

#[test]
fn documented_payloads_encode() {
    for (wire, packets) in payload_table() {
        assert_eq!(encode(&packets), wire, "{packets:?}");
        assert_eq!(encoded_payload_len(&packets), wire.len());
    }
}

#[test]
fn documented_handshake() {
    let handshake = OpenPacket {
        sid: "lv_VI97HAXpY6yYWAAAC".to_owned(),
        upgrades: vec!["websocket".to_owned()],
        ping_interval: 25000,
        ping_timeout: 20000,
        max_payload: 1_000_000,
    };
    assert_eq!(handshake.to_json(), HANDSHAKE_JSON);
    assert_eq!(OpenPacket::from_json(HANDSHAKE_JSON), Ok(handshake.clone()));
    // The document's pretty-printed form reads the same.
    let pretty = "{\n  \"sid\": \"lv_VI97HAXpY6yYWAAAC\",\n  \"upgrades\": [\"websocket\"],\n  \"pingInterval\": 25000,\n  \"pingTimeout\": 20000,\n  \"maxPayload\": 1000000\n}";
    assert_eq!(OpenPacket::from_json(pretty), Ok(handshake));
}

#[test]
fn malformed_packets() {
    let cases: &[(&[u8], DecodeError)] = &[
        (b"", DecodeError::Empty),
        (b"a123", DecodeError::UnknownType(b'a')),
        (b"7", DecodeError::UnknownType(b'7')),
        (b"9hello", DecodeError::UnknownType(b'9')),
        (b"{", DecodeError::UnknownType(b'{')),
        (b" 4hello", DecodeError::UnknownType(b' ')),
        (b"B", DecodeError::UnknownType(b'B')),
        (b"\x1e", DecodeError::UnknownType(0x1e)),
        ("€".as_bytes(), DecodeError::UnknownType(0xe2)),
        (b"4\xff", DecodeError::InvalidUtf8),
        (b"4\xe2\x82", DecodeError::InvalidUtf8),
        (b"bA", DecodeError::InvalidBase64),
        (b"bAQIDB", DecodeError::InvalidBase64),
        (b"b=", DecodeError::InvalidBase64),
        (b"bAQ==ID", DecodeError::InvalidBase64),
        (b"bAQID*", DecodeError::InvalidBase64),
        (b"b-_-_", DecodeError::InvalidBase64),
        (b"bAQ\nID", DecodeError::InvalidBase64),
        (b"b\xff\xff\xff\xff", DecodeError::InvalidBase64),
    ];
    for (wire, error) in cases {
        let decoded = Packet::decode_record(Bytes::from_static(wire));
        assert_eq!(
            decoded.as_ref(),
            Err(error),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
        if let Ok(text) = ByteString::try_from(*wire) {
            assert_eq!(Packet::decode_text(text).as_ref(), Err(error));
        }
    }
}

#[test]
fn data_on_types_without_data_is_accepted_and_dropped() {
    let cases: &[(&[u8], Packet)] = &[
        (b"1closing", Packet::Close),
        (b"5probe", Packet::Upgrade),
        (b"6\x00", Packet::Noop),
    ];
    for (wire, packet) in cases {
        assert_eq!(
            Packet::decode_record(Bytes::from_static(wire)).as_ref(),
            Ok(packet)
        );
    }
}

#[test]
fn unpadded_base64_is_accepted() {
    for wire in [&b"bAQIDBA="[..], b"bAQIDBA"] {
        assert_eq!(
            Packet::decode_record(Bytes::from_static(wire)),
            Ok(binary(&[1, 2, 3, 4]))
        );
    }
}

#[test]
fn malformed_payloads() {
    let cases: &[(&[u8], DecodeError)] = &[
        (b"", DecodeError::Empty),
        (b"\x1e", DecodeError::Empty),
        (b"4hello\x1e", DecodeError::Empty),
        (b"\x1e4hello", DecodeError::Empty),
        (b"4a\x1e\x1e4b", DecodeError::Empty),
        (b"{", DecodeError::UnknownType(b'{')),
        (b"{}", DecodeError::UnknownType(b'{')),
        (b"[\"a123\", \"a456\"]", DecodeError::UnknownType(b'[')),
        (b"4hello\x1ea123", DecodeError::UnknownType(b'a')),
        (b"4hello\x1e4\xff", DecodeError::InvalidUtf8),
        (b"4hello\x1ebA", DecodeError::InvalidBase64),
        // The first bad record decides, as in the reference.
        (b"4a\x1e9\x1ebA", DecodeError::UnknownType(b'9')),
    ];
    for (wire, error) in cases {
        let decoded = decode_payload(Bytes::from_static(wire), 16);
        assert_eq!(
            decoded.as_ref(),
            Err(error),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn payload_record_limit() {
    let body = Bytes::from_static(b"4a\x1e4b\x1e4c");
    assert_eq!(
        decode_payload(body.clone(), 3).map(|packets| packets.len()),
        Ok(3)
    );
    assert_eq!(decode_payload(body, 2), Err(DecodeError::TooManyPackets));
    // Counted before decoding: a bad record past the limit is not reached.
    assert_eq!(
        decode_payload(Bytes::from_static(b"4a\x1e\xff"), 1),
        Err(DecodeError::TooManyPackets)
    );
}

fn any_packet() -> impl Strategy<Value = Packet> {
    let data = || any::<String>().prop_map(ByteString::from);
    prop_oneof![
        data().prop_map(Packet::Open),
        Just(Packet::Close),
        data().prop_map(Packet::Ping),
        data().prop_map(Packet::Pong),
        data().prop_map(Packet::Message),
        proptest::collection::vec(any::<u8>(), 0..256)
            .prop_map(|bytes| Packet::Binary(bytes.into())),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

/// A packet that can travel in a payload: its text holds no separator.
fn payload_packet() -> impl Strategy<Value = Packet> {
    any_packet().prop_filter("text data must not hold the separator", |packet| {
        packet.is_binary() || !packet.to_text().contains(&SEPARATOR)
    })
}

proptest! {
    #[test]
    fn packets_round_trip(packet in any_packet()) {
        let wire = packet.to_text();
        prop_assert_eq!(wire.len(), packet.encoded_len());
        prop_assert_eq!(Packet::decode_record(wire.clone()), Ok(packet.clone()));
        let as_text = ByteString::try_from(wire).map_err(|_| DecodeError::InvalidUtf8);
        prop_assert_eq!(as_text.and_then(Packet::decode_text), Ok(packet));
    }

    #[test]
    fn payloads_round_trip(packets in proptest::collection::vec(payload_packet(), 1..16)) {
        let wire = Bytes::from(encode(&packets));
        prop_assert_eq!(wire.len(), encoded_payload_len(&packets));
        prop_assert_eq!(decode_payload(wire.clone(), packets.len()), Ok(packets.clone()));
        if packets.len() > 1 {
            prop_assert_eq!(decode_payload(wire, packets.len() - 1), Err(DecodeError::TooManyPackets));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), limit in 0usize..32) {
        let bytes = Bytes::from(bytes);
        if let Ok(packet) = Packet::decode_record(bytes.clone()) {
            prop_assert_eq!(Packet::decode_record(packet.to_text()), Ok(packet));
        }
        if let Ok(text) = ByteString::try_from(bytes.clone()) {
            let _ = Packet::decode_text(text);
        }
        if let Ok(packets) = decode_payload(bytes, limit) {
            prop_assert!(packets.len() <= limit);
            prop_assert_eq!(decode_payload(Bytes::from(encode(&packets)), limit), Ok(packets));
        }
    }

    #[test]
    fn near_valid_payloads_never_panic(body in "[0-7b\x1e][0-6bA-Za-z+/=\x1e€ -]{0,64}", limit in 0usize..8) {
        if let Ok(packets) = decode_payload(Bytes::from(body), limit) {
            prop_assert!(!packets.is_empty() && packets.len() <= limit);
            prop_assert_eq!(decode_payload(Bytes::from(encode(&packets)), limit), Ok(packets));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Ok(packet) = Packet::decode_text(ByteString::from(text)) {
            prop_assert_eq!(Packet::decode_record(packet.to_text()), Ok(packet));
        }
    }

    #[test]
    fn arbitrary_handshake_json_never_panics(json in any::<String>()) {
        let _ = OpenPacket::from_json(&json);
    }

    #[test]
    fn handshakes_round_trip(
        sid in any::<String>(),
        upgrades in proptest::collection::vec(any::<String>(), 0..3),
        ping_interval in any::<u64>(),
        ping_timeout in any::<u64>(),
        max_payload in any::<u64>(),
    ) {
        let handshake = OpenPacket { sid, upgrades, ping_interval, ping_timeout, max_payload };
        prop_assert_eq!(OpenPacket::from_json(&handshake.to_json()), Ok(handshake));
    }
}
