//! The adapter's message formats against messages captured from Node
//! servers running `@socket.io/redis-adapter` (fixtures/adapter/captures.tsv,
//! written by conformance/adapter-capture/capture.js), notepack.io's
//! encoding choices, and round trips.

use std::collections::HashMap;

use bytes::Bytes;
use bytestring::ByteString;
use proptest::prelude::*;
use sio_core::adapter::{
    self, uid_from_random, AdapterPacket, BroadcastMessage, ChannelKind, Channels, DecodeError,
    FetchedSocket, Flag, Format, MessageError, Request, RequestType, Response, Targets, Value,
};
use sio_core::packet::{Packet, PacketType, RawJson};

const CAPTURES: &str = include_str!("fixtures/adapter/captures.tsv");

struct Capture {
    step: &'static str,
    channel: &'static str,
    bytes: Bytes,
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

fn captures() -> Vec<Capture> {
    CAPTURES
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut fields = line.split('\t');
            let (step, channel, bytes) = (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            );
            Capture {
                step,
                channel,
                bytes: Bytes::from(hex(bytes)),
            }
        })
        .collect()
}

fn step(name: &str) -> Vec<Capture> {
    let found: Vec<Capture> = captures().into_iter().filter(|c| c.step == name).collect();
    assert!(!found.is_empty(), "no capture for step {name}");
    found
}

fn s(text: &str) -> Value {
    Value::str(text)
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(key, value)| (key.to_string(), value.clone()))
            .collect(),
    )
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn broadcast(capture: &Capture) -> BroadcastMessage {
    BroadcastMessage::decode(&capture.bytes).unwrap()
}

fn request(capture: &Capture) -> Request {
    Request::decode(&capture.bytes).unwrap()
}

/// Every capture decodes to a typed message and encodes back to the
/// captured bytes, byte for byte.
#[test]
fn every_capture_round_trips_byte_for_byte() {
    let captures = captures();
    assert_eq!(captures.len(), 23);
    let mut pending: HashMap<String, RequestType> = HashMap::new();
    let (mut broadcasts, mut requests, mut responses) = (0, 0, 0);
    for capture in &captures {
        let nsp = if capture.channel.contains("/admin") {
            "/admin"
        } else {
            "/"
        };
        let channels = Channels::new(adapter::DEFAULT_KEY, nsp, "uid");
        let reencoded = match channels.classify(capture.channel) {
            ChannelKind::Broadcast { .. } => {
                broadcasts += 1;
                broadcast(capture).encode().unwrap()
            }
            ChannelKind::Request => {
                requests += 1;
                let request = request(capture);
                if let Some(id) = request.request_id() {
                    pending.insert(id.to_string(), request.kind());
                }
                request.encode().unwrap()
            }
            ChannelKind::Response => {
                responses += 1;
                Response::decode(&capture.bytes, |id| pending.get(id).copied())
                    .unwrap()
                    .encode()
                    .unwrap()
            }
            other => panic!("{}: unexpected channel kind {other:?}", capture.channel),
        };
        assert_eq!(
            reencoded,
            capture.bytes.to_vec(),
            "{} on {}",
            capture.step,
            capture.channel
        );
        // The untyped value model round-trips too.
        let format = Format::detect(&capture.bytes);
        let value = adapter::decode_value(&capture.bytes).unwrap();
        assert_eq!(
            adapter::encode_value(&value, format).unwrap(),
            capture.bytes.to_vec()
        );
    }
    assert_eq!((broadcasts, requests, responses), (6, 10, 7));
}

/// Each node (one adapter per namespace) publishes on the channels its uid
/// and the rooms name, and skips nothing but its own messages.
#[test]
fn captured_channels_follow_from_prefix_namespace_and_rooms() {
    for capture in captures() {
        let Ok(message) = BroadcastMessage::decode(&capture.bytes) else {
            continue;
        };
        let channels = Channels::new("socket.io", &message.packet.nsp, &message.uid);
        let expected = channels.for_rooms(message.opts.rooms.iter().map(String::as_str));
        assert_eq!(expected, capture.channel, "{}", capture.step);
        assert_eq!(message.uid.len(), 6);
    }
}

#[test]
fn room_broadcast_with_binary() {
    let capture = &step("room_binary")[0];
    assert_eq!(capture.channel, "socket.io#/#room1#");
    let channels = Channels::new("socket.io", "/", "me");
    assert_eq!(
        channels.classify(capture.channel),
        ChannelKind::Broadcast {
            room: Some("room1")
        }
    );
    let message = broadcast(capture);
    assert_eq!(message.opts.rooms, strings(&["room1"]));
    assert!(message.opts.except.is_empty());
    assert_eq!(message.opts.flags, Some(vec![]));
    assert_eq!(message.packet.kind, PacketType::Event);
    assert_eq!(message.packet.nsp, "/");
    assert_eq!(message.packet.id, None);
    let items = vec![
        s("hello"),
        s("world"),
        Value::Bin(Bytes::from_static(&[1, 2, 3])),
        map(&[
            ("n", Value::Float(1.5)),
            ("neg", Value::Int(-200)),
            ("big", Value::Int(70000)),
            (
                "nested",
                Value::Array(vec![Value::Bool(true), Value::Nil, s("é")]),
            ),
        ]),
        // A Date: timestamp 64 with 678 ms in the nanosecond bits.
        Value::Ext(-1, Bytes::from(hex("a1a5d6005e0d5da5"))),
    ];
    assert_eq!(message.packet.data, Some(Value::Array(items.clone())));

    // As sio's packet: a BINARY_EVENT with one attachment.
    let packet = message.packet.to_packet();
    assert_eq!(packet.kind, PacketType::BinaryEvent);
    assert_eq!(&*packet.nsp, "/");
    assert_eq!(
        packet.data.as_ref().unwrap().as_str(),
        r#"["hello","world",{"_placeholder":true,"num":0},{"n":1.5,"neg":-200,"big":70000,"nested":[true,null,"é"]},"2020-01-02T03:04:05.678Z"]"#
    );
    assert_eq!(packet.attachments, vec![Bytes::from_static(&[1, 2, 3])]);
    // Back: the same, but the Date is now its JSON string.
    let mut items = items;
    items[4] = s("2020-01-02T03:04:05.678Z");
    let back = AdapterPacket::from_packet(&packet).unwrap();
    assert_eq!(back.data, Some(Value::Array(items)));
    assert_eq!(
        (back.kind, back.nsp, back.id),
        (PacketType::Event, "/".into(), None)
    );
}

#[test]
fn except_broadcast() {
    let capture = &step("except")[0];
    assert_eq!(capture.channel, "socket.io#/#");
    let message = broadcast(capture);
    assert!(message.opts.rooms.is_empty());
    assert_eq!(message.opts.except, strings(&["room1"]));
    assert_eq!(
        message.packet.data,
        Some(Value::Array(vec![s("news"), Value::Int(42)]))
    );
    let packet = message.packet.to_packet();
    assert_eq!(packet.kind, PacketType::Event);
    assert!(packet.attachments.is_empty());
    assert_eq!(packet.data.unwrap().as_str(), r#"["news",42]"#);
}

#[test]
fn socket_broadcast_leaves_out_the_sender_by_id() {
    let capture = &step("socket_broadcast")[0];
    assert_eq!(capture.channel, "socket.io#/#");
    let message = broadcast(capture);
    assert!(message.opts.rooms.is_empty());
    assert_eq!(message.opts.except.len(), 1);
    assert_eq!(message.opts.except[0].len(), 20, "a socket id");
    assert_eq!(
        message.packet.data,
        Some(Value::Array(vec![s("relayed"), s("from a")]))
    );
}

#[test]
fn rooms_and_except_with_a_bin16_buffer() {
    let message = broadcast(&step("rooms_and_except")[0]);
    assert_eq!(message.opts.rooms, strings(&["room1", "room2"]));
    assert_eq!(message.opts.except, strings(&["room3"]));
    let deep = map(&[("bin", Value::Bin(Bytes::from(vec![7; 300])))]);
    let expected = Value::Array(vec![s("multi"), map(&[("deep", deep)])]);
    assert_eq!(message.packet.data, Some(expected));
    let packet = message.packet.to_packet();
    assert_eq!(
        packet.data.unwrap().as_str(),
        r#"["multi",{"deep":{"bin":{"_placeholder":true,"num":0}}}]"#
    );
    assert_eq!(packet.attachments[0].len(), 300);
}

#[test]
fn flags_keep_their_order() {
    let message = broadcast(&step("flags")[0]);
    assert_eq!(
        message.opts.flags,
        Some(vec![Flag::Volatile(true), Flag::Compress(false)])
    );
    assert!(message.opts.volatile());
    assert_eq!(message.packet.data, Some(Value::Array(vec![s("quiet")])));
}

#[test]
fn other_namespace_has_its_own_channel_and_uid() {
    let capture = &step("namespace")[0];
    assert_eq!(capture.channel, "socket.io#/admin#");
    let message = broadcast(capture);
    assert_eq!(message.packet.nsp, "/admin");
    let main = broadcast(&step("except")[0]);
    assert_ne!(message.uid, main.uid);
    let main_channels = Channels::new("socket.io", "/", &main.uid);
    assert_eq!(main_channels.classify(capture.channel), ChannelKind::Other);
}

#[test]
fn fetch_sockets_request_and_response() {
    let captures = step("fetch_sockets");
    assert_eq!(captures[0].channel, "socket.io-request#/#");
    let Request::RemoteFetch {
        uid,
        request_id,
        opts,
    } = request(&captures[0])
    else {
        panic!("not a fetch")
    };
    assert_eq!(uid, broadcast(&step("except")[0]).uid);
    assert_eq!(request_id.len(), 6);
    assert_eq!(
        opts,
        Targets {
            rooms: strings(&["room1"]),
            except: vec![],
            flags: None
        }
    );
    assert_eq!(captures[1].channel, "socket.io-response#/#");
    let response = Response::decode(&captures[1].bytes, |id| {
        (id == request_id).then_some(RequestType::RemoteFetch)
    })
    .unwrap();
    let Response::RemoteFetch { sockets, .. } = response else {
        panic!("not a fetch response")
    };
    let [FetchedSocket {
        id,
        handshake,
        rooms,
        data,
    }] = &sockets[..]
    else {
        panic!("one socket expected")
    };
    assert_eq!(rooms, &vec![id.clone(), "room1".into(), "room3".into()]);
    let expected = map(&[
        ("role", s("tester")),
        ("score", Value::Float(1.5)),
        ("tiny", Value::Float(0.000001)),
        ("huge", Value::Float(1e21)),
        // JSON.stringify wrote the Date as its ISO string.
        ("since", s("2020-01-02T03:04:05.678Z")),
    ]);
    assert_eq!(data, &Some(expected));
    assert_eq!(handshake.get("auth"), Some(&map(&[("name", s("capture"))])));
    assert_eq!(handshake.get("address"), Some(&s("127.0.0.1")));

    // Unknown request ids are not guessed.
    assert_eq!(
        Response::decode(&captures[1].bytes, |_| None),
        Err(MessageError::UnknownRequest)
    );
}

#[test]
fn all_rooms_request_and_response() {
    let captures = step("all_rooms");
    let request = request(&captures[0]);
    assert_eq!(request.kind(), RequestType::AllRooms);
    let id = request.request_id().unwrap().to_string();
    let response = Response::decode(&captures[1].bytes, |got| {
        (got == id).then_some(request.kind())
    })
    .unwrap();
    let Response::AllRooms { rooms, .. } = response else {
        panic!("not all rooms")
    };
    assert_eq!(&rooms[1..], &strings(&["room1", "room3"])[..]);
}

#[test]
fn sockets_join_and_leave() {
    let Request::RemoteJoin { opts, rooms, .. } = request(&step("sockets_join")[0]) else {
        panic!("not a join")
    };
    assert_eq!(opts.rooms, strings(&["room1"]));
    assert_eq!(rooms, strings(&["room4", "room5"]));
    let Request::RemoteLeave { opts, rooms, .. } = request(&step("sockets_leave")[0]) else {
        panic!("not a leave")
    };
    assert_eq!(opts.rooms, strings(&["room4"]));
    assert_eq!(opts.except, strings(&["room5"]));
    assert_eq!(rooms, strings(&["room4"]));
}

#[test]
fn disconnect_sockets() {
    let Request::RemoteDisconnect { opts, close, .. } = request(&step("disconnect_sockets")[0])
    else {
        panic!("not a disconnect")
    };
    assert_eq!(opts.rooms, strings(&["room1"]));
    assert!(close);
}

#[test]
fn server_side_emit_without_and_with_ack() {
    let Request::ServerSideEmit {
        request_id, data, ..
    } = request(&step("server_side_emit")[0])
    else {
        panic!("not a server side emit")
    };
    assert_eq!(request_id, None);
    let array = Value::Array(vec![Value::Float(3.25)]);
    assert_eq!(data, vec![s("ping"), Value::Int(1), s("two"), array]);

    // JSON.stringify turns a Buffer into {"type":"Buffer","data":[...]}.
    let Request::ServerSideEmit { data, .. } = request(&step("server_side_emit_binary")[0]) else {
        panic!("not a server side emit")
    };
    let buffer = map(&[
        ("type", s("Buffer")),
        ("data", Value::Array(vec![Value::Int(0), Value::Int(255)])),
    ]);
    assert_eq!(data, vec![s("raw"), buffer]);

    let captures = step("server_side_emit_ack");
    let Request::ServerSideEmit {
        request_id, data, ..
    } = request(&captures[0])
    else {
        panic!("not a server side emit")
    };
    let request_id = request_id.unwrap();
    assert_eq!(data, vec![s("ask"), map(&[("q", Value::Int(41))])]);
    let response = Response::decode(&captures[1].bytes, |id| {
        (id == request_id).then_some(RequestType::ServerSideEmit)
    })
    .unwrap();
    assert_eq!(
        response,
        Response::ServerSideEmit {
            request_id,
            data: Some(map(&[("answer", Value::Int(42))])),
        }
    );
}

#[test]
fn broadcast_with_ack() {
    let captures = step("broadcast_ack");
    assert_eq!(Format::detect(&captures[0].bytes), Format::MsgPack);
    let Request::Broadcast {
        request_id,
        packet,
        opts,
        ..
    } = request(&captures[0])
    else {
        panic!("not a broadcast request")
    };
    assert_eq!(
        packet.data,
        Some(Value::Array(vec![s("question"), Value::Int(7)]))
    );
    assert_eq!(packet.id, None);
    assert_eq!(opts.rooms, strings(&["room1"]));
    assert_eq!(opts.flags, Some(vec![Flag::Timeout(2000)]));
    assert_eq!(opts.timeout(), Some(2000));

    // Typed responses need no pending lookup.
    let no_lookup = |_: &str| None;
    assert_eq!(
        Response::decode(&captures[1].bytes, no_lookup).unwrap(),
        Response::BroadcastClientCount {
            request_id: request_id.clone(),
            client_count: 1
        }
    );
    assert_eq!(Format::detect(&captures[2].bytes), Format::MsgPack);
    assert_eq!(
        Response::decode(&captures[2].bytes, no_lookup).unwrap(),
        Response::BroadcastAck {
            request_id,
            packet: Some(s("answer 7"))
        }
    );
}

#[test]
fn broadcast_ack_with_a_buffer_stays_binary() {
    let captures = step("broadcast_ack_binary");
    let request = request(&captures[0]);
    let id = request.request_id().unwrap().to_string();
    assert_eq!(
        Response::decode(&captures[2].bytes, |_| None).unwrap(),
        Response::BroadcastAck {
            request_id: id,
            packet: Some(Value::Bin(Bytes::from_static(&[9]))),
        }
    );
}

#[test]
fn channel_names() {
    let channels = Channels::new("socket.io", "/chat", "AbC-_9");
    assert_eq!(channels.broadcast(), "socket.io#/chat#");
    assert_eq!(channels.broadcast_pattern(), "socket.io#/chat#*");
    assert_eq!(channels.room("lobby"), "socket.io#/chat#lobby#");
    assert_eq!(channels.request(), "socket.io-request#/chat#");
    assert_eq!(channels.response(), "socket.io-response#/chat#");
    assert_eq!(
        channels.specific_response(),
        "socket.io-response#/chat#AbC-_9#"
    );
    assert_eq!(
        channels.response_for("xyz"),
        "socket.io-response#/chat#xyz#"
    );
    assert_eq!(channels.for_rooms(["a"].into_iter()), "socket.io#/chat#a#");
    assert_eq!(
        channels.for_rooms(["a", "b"].into_iter()),
        "socket.io#/chat#"
    );
    assert_eq!(channels.for_rooms(std::iter::empty()), "socket.io#/chat#");
    assert_eq!(
        channels.classify("socket.io#/chat#"),
        ChannelKind::Broadcast { room: None }
    );
    assert_eq!(
        channels.classify("socket.io#/chat#a#b#"),
        ChannelKind::Broadcast { room: Some("a#b") }
    );
    assert_eq!(
        channels.classify("socket.io-request#/chat#"),
        ChannelKind::Request
    );
    assert_eq!(
        channels.classify("socket.io-response#/chat#zzz#"),
        ChannelKind::Response
    );
    assert_eq!(channels.classify("socket.io#/#"), ChannelKind::Other);
    let custom = Channels::new("my-app", "/", "u");
    assert_eq!(custom.request(), "my-app-request#/#");
}

#[test]
fn uids_use_the_uid2_alphabet() {
    assert_eq!(uid_from_random(&[0, 25, 26, 51, 52, 61]), "AZaz09");
    assert_eq!(uid_from_random(&[62, 63, 64, 255]), "-_A_");
}

fn bytes_of(value: Value) -> Vec<u8> {
    adapter::to_vec(&value).unwrap()
}

/// notepack.io's choices: the narrowest integer, float64 only for
/// non-integral numbers, bin 8 even for tiny buffers.
#[test]
fn notepack_widths() {
    let table: &[(Value, &str)] = &[
        (Value::Nil, "c0"),
        (Value::Bool(false), "c2"),
        (Value::Bool(true), "c3"),
        (Value::Int(0), "00"),
        (Value::Int(127), "7f"),
        (Value::Int(128), "cc80"),
        (Value::Int(255), "ccff"),
        (Value::Int(256), "cd0100"),
        (Value::Int(65535), "cdffff"),
        (Value::Int(65536), "ce00010000"),
        (Value::Int(4294967295), "ceffffffff"),
        (Value::Int(4294967296), "cf0000000100000000"),
        (Value::Int(-1), "ff"),
        (Value::Int(-32), "e0"),
        (Value::Int(-33), "d0df"),
        (Value::Int(-128), "d080"),
        (Value::Int(-129), "d1ff7f"),
        (Value::Int(-32768), "d18000"),
        (Value::Int(-32769), "d2ffff7fff"),
        (Value::Int(-2147483648), "d280000000"),
        (Value::Int(-2147483649), "d3ffffffff7fffffff"),
        (Value::Float(1.5), "cb3ff8000000000000"),
        (Value::Float(2.0), "02"),
        (Value::Float(-0.0), "00"),
        (Value::Float(-300.0), "d1fed4"),
        (Value::Float(f64::INFINITY), "cb7ff0000000000000"),
        (Value::str(""), "a0"),
        (
            Value::str("a".repeat(31)),
            &format!("bf{}", "61".repeat(31)),
        ),
        (
            Value::str("a".repeat(32)),
            &format!("d920{}", "61".repeat(32)),
        ),
        (
            Value::str("a".repeat(256)),
            &format!("da0100{}", "61".repeat(256)),
        ),
        (Value::Bin(Bytes::new()), "c400"),
        (
            Value::Bin(Bytes::from(vec![9; 256])),
            &format!("c50100{}", "09".repeat(256)),
        ),
        (
            Value::Array(vec![Value::Nil; 15]),
            &format!("9f{}", "c0".repeat(15)),
        ),
        (
            Value::Array(vec![Value::Nil; 16]),
            &format!("dc0010{}", "c0".repeat(16)),
        ),
        (map(&[("a", Value::Int(1))]), "81a16101"),
        (
            Value::Ext(-1, Bytes::from_static(&[0, 0, 0, 1])),
            "d6ff00000001",
        ),
        (
            Value::Ext(5, Bytes::from_static(&[1, 2, 3])),
            "c70305010203",
        ),
    ];
    for (value, expected) in table {
        assert_eq!(hex_of(&bytes_of(value.clone())), *expected, "{value:?}");
    }
    let sixteen: Vec<(String, Value)> = (0..16).map(|i| (format!("k{i:02}"), Value::Nil)).collect();
    assert_eq!(&bytes_of(Value::Map(sixteen))[..3], &[0xde, 0x00, 0x10]);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_hex(text: &str) -> Result<Value, DecodeError> {
    adapter::decode(&Bytes::from(hex(text)))
}

#[test]
fn decoder_reads_what_notepack_reads() {
    // Forms notepack never writes but reads.
    assert_eq!(decode_hex("ca3fc00000"), Ok(Value::Float(1.5)));
    assert_eq!(decode_hex("d00a"), Ok(Value::Int(10)));
    assert_eq!(
        decode_hex("d40000"),
        Ok(Value::Nil),
        "fixext 1 type 0 is undefined"
    );
    assert_eq!(
        decode_hex("c702000102"),
        Ok(Value::Bin(Bytes::from_static(&[1, 2]))),
        "ext type 0 is an ArrayBuffer"
    );
    assert_eq!(
        decode_hex("cfffffffffffffffff"),
        Ok(Value::Float(18446744073709551615.0))
    );
    // Invalid UTF-8 is replaced, as Buffer#toString does.
    assert_eq!(decode_hex("a2ff61"), Ok(Value::str("\u{fffd}a")));
}

#[test]
fn decoder_refuses_malformed_input() {
    assert_eq!(decode_hex(""), Err(DecodeError::Truncated));
    assert_eq!(decode_hex("c1"), Err(DecodeError::Reserved));
    assert_eq!(decode_hex("c0c0"), Err(DecodeError::TrailingBytes(1)));
    assert_eq!(decode_hex("a361"), Err(DecodeError::Truncated));
    assert_eq!(decode_hex("cd01"), Err(DecodeError::Truncated));
    // A length far beyond the input is refused before allocating.
    assert_eq!(decode_hex("ddffffffff"), Err(DecodeError::Truncated));
    assert_eq!(decode_hex("dfffffffff"), Err(DecodeError::Truncated));
    assert_eq!(decode_hex("c6ffffffff00"), Err(DecodeError::Truncated));
    assert_eq!(decode_hex("810101"), Err(DecodeError::NonStringKey));
    let deep = format!("{}c0", "91".repeat(adapter::MAX_DEPTH + 1));
    assert_eq!(decode_hex(&deep), Err(DecodeError::TooDeep));
    let ok = format!("{}c0", "91".repeat(adapter::MAX_DEPTH));
    assert!(decode_hex(&ok).is_ok());
}

#[test]
fn message_errors_name_the_fault() {
    let json = |text: &str| Bytes::from(text.to_string());
    assert_eq!(
        Request::decode(&json(r#"{"uid":"a","type":42}"#)),
        Err(MessageError::UnknownType(42))
    );
    assert_eq!(
        Request::decode(&json(r#"{"uid":"a","type":5,"requestId":"r"}"#)),
        Err(MessageError::Field("opts"))
    );
    assert_eq!(
        Request::decode(&json(r#"{"type":1,"requestId":"r"}"#)),
        Err(MessageError::Field("uid"))
    );
    // Not `{`: read as MessagePack, where `[` is the integer 91.
    assert_eq!(
        Request::decode(&json("[1]")),
        Err(MessageError::MsgPack(DecodeError::TrailingBytes(2)))
    );
    assert!(matches!(
        Request::decode(&json("{")),
        Err(MessageError::Json(_))
    ));
    assert_eq!(
        BroadcastMessage::decode(&Bytes::from_static(&[0x92, 0xa1, 0x61, 0xc0])),
        Err(MessageError::Field(""))
    );
    let bad_type = adapter::to_vec(&Value::Array(vec![
        s("u"),
        map(&[("type", Value::Int(9))]),
        map(&[]),
    ]))
    .unwrap();
    assert_eq!(
        BroadcastMessage::decode(&Bytes::from(bad_type)),
        Err(MessageError::UnknownPacketType(9))
    );
}

#[test]
fn messages_not_in_the_captures_round_trip() {
    let opts = Targets {
        rooms: strings(&["r"]),
        except: vec![],
        flags: None,
    };
    let requests = [
        Request::Sockets {
            uid: "u".into(),
            request_id: "q".into(),
            rooms: strings(&["a"]),
        },
        Request::RemoteDisconnect {
            uid: "u".into(),
            opts: opts.clone(),
            close: false,
        },
        Request::ServerSideEmit {
            uid: "u".into(),
            request_id: None,
            data: vec![s("e"), Value::Bin(Bytes::from_static(b"x"))],
        },
    ];
    for request in requests {
        let bytes = Bytes::from(request.encode().unwrap());
        let decoded = Request::decode(&bytes).unwrap();
        if let Request::ServerSideEmit { data, .. } = &decoded {
            // JSON.stringify writes a Buffer as {"type":"Buffer","data":[...]}.
            let buffer = map(&[
                ("type", s("Buffer")),
                ("data", Value::Array(vec![Value::Int(120)])),
            ]);
            assert_eq!(data[1], buffer);
            continue;
        }
        assert_eq!(decoded, request);
    }
    assert_eq!(
        Request::RemoteDisconnect {
            uid: "u".into(),
            opts,
            close: false
        }
        .encode()
        .unwrap(),
        br#"{"uid":"u","type":4,"opts":{"rooms":["r"],"except":[]},"close":false}"#
    );
    let responses = [
        (
            Response::Done {
                request_id: "q".into(),
            },
            RequestType::RemoteJoin,
            r#"{"requestId":"q"}"#,
        ),
        (
            Response::Sockets {
                request_id: "q".into(),
                sockets: strings(&["s1"]),
            },
            RequestType::Sockets,
            r#"{"requestId":"q","sockets":["s1"]}"#,
        ),
        (
            Response::ServerSideEmit {
                request_id: "q".into(),
                data: None,
            },
            RequestType::ServerSideEmit,
            r#"{"type":6,"requestId":"q"}"#,
        ),
    ];
    for (response, kind, json) in responses {
        let bytes = response.encode().unwrap();
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), json);
        assert_eq!(
            Response::decode(&Bytes::from(bytes), |_| Some(kind)).unwrap(),
            response
        );
    }
}

#[test]
fn sio_packets_convert_both_ways() {
    let data = RawJson::parse(ByteString::from_static(
        r#"["ev",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0}],1.25]"#,
    ))
    .unwrap();
    let attachments = vec![Bytes::from_static(b"zero"), Bytes::from_static(b"one")];
    let packet = Packet::event("/room", data, attachments).with_id(3);
    let carried = AdapterPacket::from_packet(&packet).unwrap();
    assert_eq!(carried.kind, PacketType::Event);
    assert_eq!(carried.id, Some(3));
    assert_eq!(
        carried.data,
        Some(Value::Array(vec![
            s("ev"),
            Value::Bin(Bytes::from_static(b"one")),
            Value::Array(vec![Value::Bin(Bytes::from_static(b"zero"))]),
            Value::Float(1.25),
        ]))
    );
    // Back in sio's form the attachments are renumbered in document order.
    let back = carried.to_packet();
    assert_eq!(back.kind, PacketType::BinaryEvent);
    assert_eq!(
        back.data.as_ref().unwrap().as_str(),
        r#"["ev",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}],1.25]"#
    );
    assert_eq!(
        back.attachments,
        vec![Bytes::from_static(b"one"), Bytes::from_static(b"zero")]
    );

    let missing = Packet::event(
        "/",
        RawJson::parse(ByteString::from_static(
            r#"["e",{"_placeholder":true,"num":2}]"#,
        ))
        .unwrap(),
        vec![Bytes::new()],
    );
    assert!(matches!(
        AdapterPacket::from_packet(&missing),
        Err(MessageError::Json(adapter::JsonError::BadPlaceholder))
    ));
}

fn value_strategy() -> impl Strategy<Value = Value> {
    // Integral doubles are integers on the wire (as in notepack).
    values_with(
        any::<f64>()
            .prop_filter("non-integral, not NaN", |x| !x.is_nan() && x.fract() != 0.0)
            .boxed(),
    )
}

/// Values whose floats have short exact decimals: serde_json without its
/// `float_roundtrip` feature may round other decimals 1 ULP off.
fn json_value_strategy() -> impl Strategy<Value = Value> {
    values_with(
        (-1_000_000i64..1_000_000, 1u32..6)
            .prop_map(|(int, bits)| int as f64 + 1.0 / f64::from(1u32 << bits))
            .boxed(),
    )
}

fn values_with(floats: BoxedStrategy<f64>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        floats.prop_map(Value::Float),
        ".{0,40}".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::Bin(Bytes::from(b))),
    ];
    leaf.prop_recursive(4, 64, 20, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..20).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,8}", inner), 0..20).prop_map(Value::Map),
        ]
    })
}

fn without_bins(value: &Value) -> bool {
    match value {
        Value::Bin(_) | Value::Ext(..) => false,
        Value::Float(x) => x.is_finite(),
        Value::Array(items) => items.iter().all(without_bins),
        Value::Map(entries) => entries.iter().all(|(_, v)| without_bins(v)),
        _ => true,
    }
}

proptest! {
    #[test]
    fn msgpack_round_trip(value in value_strategy()) {
        let bytes = adapter::to_vec(&value).unwrap();
        let decoded = adapter::decode(&Bytes::from(bytes.clone())).unwrap();
        prop_assert_eq!(&decoded, &value);
        prop_assert_eq!(adapter::to_vec(&decoded).unwrap(), bytes);
    }

    #[test]
    fn json_round_trip(value in json_value_strategy().prop_filter("JSON has no buffers", without_bins)) {
        let text = adapter::to_json(&value);
        prop_assert_eq!(adapter::from_json(&text).unwrap(), value);
    }

    #[test]
    fn placeholder_round_trip(value in json_value_strategy()) {
        let (text, attachments) = adapter::to_packet_json(&value);
        prop_assert_eq!(adapter::from_packet_json(&text, &attachments).unwrap(), value);
    }

    #[test]
    fn broadcast_round_trip(data in value_strategy(), rooms in proptest::collection::vec("[a-z0-9]{1,6}", 0..4), timeout in proptest::option::of(0i64..100_000)) {
        let message = BroadcastMessage {
            uid: uid_from_random(&[1, 2, 3, 4, 5, 6]),
            packet: AdapterPacket { kind: PacketType::Event, nsp: "/".into(), data: Some(data), id: None },
            opts: Targets { rooms: rooms.clone(), except: rooms, flags: Some(timeout.map(Flag::Timeout).into_iter().collect()) },
        };
        let bytes = Bytes::from(message.encode().unwrap());
        prop_assert_eq!(BroadcastMessage::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let bytes = Bytes::from(bytes);
        if let Ok(value) = adapter::decode(&bytes) {
            // Compared as bytes: a decoded NaN is not equal to itself.
            let again = adapter::to_vec(&value).unwrap();
            let value = adapter::decode(&Bytes::from(again.clone())).unwrap();
            prop_assert_eq!(adapter::to_vec(&value).unwrap(), again);
        }
        let _ = Request::decode(&bytes);
        let _ = BroadcastMessage::decode(&bytes);
        let _ = Response::decode(&bytes, |_| Some(RequestType::RemoteFetch));
    }
}

/// Found by the adapter_messages fuzz target: a JSON request whose float
/// was read back 1 ULP off (serde_json without `float_roundtrip`), so a
/// message re-published by sio would have carried a different number.
#[test]
fn json_floats_read_back_exactly() {
    let text = r#"{"uid":"I7RB_I","type":0,"data":[5.555555555555556e+59,0.1,1e-7,123456789012345680000]}"#;
    let value = sio_core::adapter::from_json(text).unwrap();
    assert_eq!(sio_core::adapter::to_json(&value), text);
}
