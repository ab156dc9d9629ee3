//! socket.io-adapter's cluster messages as `@socket.io/redis-streams-adapter`
//! 0.2 writes them into the stream: entries as Node writes them (the base64
//! bodies are @msgpack/msgpack 2.8's output, made with the conformance
//! suite's copy), the reference's choice between JSON and MessagePack,
//! hostile fields, and round trips; and the same messages as whole pub/sub
//! payloads, as `createShardedAdapter` of `@socket.io/redis-adapter` 8.3
//! publishes them (JSON, or notepack.io 3's MessagePack, made with the
//! conformance suite's copy).

use bytes::Bytes;
use proptest::prelude::*;
use sio_core::adapter::{
    AdapterPacket, ClusterBody, ClusterMessage, ClusterType, Flag, MessageError, Request, Response,
    Targets, Value,
};
use sio_core::packet::PacketType;

fn fields(pairs: &[(&str, &str)]) -> Vec<(Bytes, Bytes)> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                Bytes::copy_from_slice(k.as_bytes()),
                Bytes::copy_from_slice(v.as_bytes()),
            )
        })
        .collect()
}

fn s(text: &str) -> Value {
    Value::str(text)
}

#[test]
fn reads_a_node_broadcast_with_binary_in_base64_msgpack() {
    let entry = fields(&[
        ("uid", "5c1a0d2b9e8f7a6b"),
        ("nsp", "/"),
        ("type", "3"),
        ("data", "gqZwYWNrZXSDpHR5cGUCpGRhdGGSo21zZ4Kjc2VxoTGjYmluxAMAAf+jbnNwoS+kb3B0c4Olcm9vbXORoXKmZXhjZXB0kKVmbGFnc4A="),
    ]);
    let message = ClusterMessage::from_fields(&entry).unwrap();
    assert_eq!(message.uid, "5c1a0d2b9e8f7a6b");
    assert_eq!(message.kind(), ClusterType::Broadcast);
    let ClusterBody::Broadcast { packet, opts } = &message.body else {
        panic!("not a broadcast: {message:?}");
    };
    let data = Value::Array(vec![
        s("msg"),
        Value::Map(vec![
            ("seq".into(), s("1")),
            ("bin".into(), Value::Bin(Bytes::from_static(&[0, 1, 255]))),
        ]),
    ]);
    assert_eq!(packet, &AdapterPacket::event("/", data));
    assert_eq!(opts.rooms, vec!["r".to_string()]);
    assert_eq!(opts.flags, Some(vec![]));
    // Written back as the reference would: MessagePack in base64, same bytes.
    let written = message.to_fields().unwrap();
    assert_eq!(written[3].1.as_bytes(), entry[3].1.as_ref());
}

#[test]
fn reads_a_node_broadcast_with_acks_as_json() {
    let entry = fields(&[
        ("uid", "a"),
        ("nsp", "/"),
        ("type", "3"),
        (
            "data",
            r#"{"packet":{"type":2,"data":["question",10],"nsp":"/"},"requestId":"0f1e2d3c4b5a6978","opts":{"rooms":["r"],"except":[],"flags":{"timeout":3000}}}"#,
        ),
    ]);
    let message = ClusterMessage::from_fields(&entry).unwrap();
    let ClusterBody::Request(Request::Broadcast {
        request_id, opts, ..
    }) = &message.body
    else {
        panic!("not a broadcast with acks: {message:?}");
    };
    assert_eq!(request_id, "0f1e2d3c4b5a6978");
    assert_eq!(opts.timeout(), Some(3000));
    // JSON.stringify's bytes again, key order included.
    assert_eq!(
        message.to_fields().unwrap()[3].1.as_bytes(),
        entry[3].1.as_ref()
    );
}

#[test]
fn reads_responses_heartbeats_and_binary_acks() {
    let ack = ClusterMessage::from_fields(&fields(&[
        ("uid", "b"),
        ("nsp", "/"),
        ("type", "12"),
        ("data", "gqlyZXF1ZXN0SWSjYWJjpnBhY2tldMQBBw=="),
    ]))
    .unwrap();
    assert_eq!(
        ack.body,
        ClusterBody::Response(Response::BroadcastAck {
            request_id: "abc".into(),
            packet: Some(Value::Bin(Bytes::from_static(&[7]))),
        })
    );
    let count = ClusterMessage::from_fields(&fields(&[
        ("uid", "b"),
        ("nsp", "/"),
        ("type", "11"),
        ("data", r#"{"requestId":"abc","clientCount":2}"#),
    ]))
    .unwrap();
    assert_eq!(
        count.body,
        ClusterBody::Response(Response::BroadcastClientCount {
            request_id: "abc".into(),
            client_count: 2,
        })
    );
    for (number, body) in [
        ("1", ClusterBody::InitialHeartbeat),
        ("2", ClusterBody::Heartbeat),
        ("13", ClusterBody::AdapterClose),
    ] {
        let entry = fields(&[("uid", "c"), ("nsp", "/chat"), ("type", number)]);
        let message = ClusterMessage::from_fields(&entry).unwrap();
        assert_eq!(message.body, body);
        // No body, no `data` field, as the reference writes them.
        assert_eq!(message.to_fields().unwrap().len(), 3);
    }
}

#[test]
fn writes_requests_in_the_reference_shape() {
    let join = ClusterMessage::request(
        "/",
        Request::RemoteJoin {
            uid: "me".into(),
            opts: Targets {
                rooms: vec!["sid".into()],
                except: vec![],
                flags: Some(vec![]),
            },
            rooms: vec!["room".into()],
        },
    )
    .unwrap();
    let written = join.to_fields().unwrap();
    let names: Vec<&str> = written.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["uid", "nsp", "type", "data"]);
    assert_eq!(written[2].1, "4");
    assert_eq!(
        written[3].1,
        r#"{"opts":{"rooms":["sid"],"except":[],"flags":{}},"rooms":["room"]}"#
    );
    let emit = ClusterMessage::request(
        "/",
        Request::ServerSideEmit {
            uid: "me".into(),
            request_id: Some("r1".into()),
            data: vec![s("ping-node"), Value::Int(1)],
        },
    )
    .unwrap();
    assert_eq!(emit.kind(), ClusterType::ServerSideEmit);
    assert_eq!(
        emit.to_fields().unwrap()[3].1,
        r#"{"requestId":"r1","packet":["ping-node",1]}"#
    );
    // The cluster adapter has no SOCKETS or ALL_ROOMS request.
    let all_rooms = Request::AllRooms {
        uid: "me".into(),
        request_id: "x".into(),
    };
    assert!(ClusterMessage::request("/", all_rooms).is_err());
}

#[test]
fn hostile_entries_are_errors() {
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("uid", "a"), ("nsp", "/")],
        &[("uid", "a"), ("nsp", "/"), ("type", "x")],
        &[("uid", "a"), ("nsp", "/"), ("type", "99")],
        &[("uid", "a"), ("nsp", "/"), ("type", "3")],
        &[
            ("uid", "a"),
            ("nsp", "/"),
            ("type", "3"),
            ("data", "{not json"),
        ],
        &[("uid", "a"), ("nsp", "/"), ("type", "3"), ("data", "!!!!")],
        &[("uid", "a"), ("nsp", "/"), ("type", "3"), ("data", "kA==")],
        &[
            ("uid", "a"),
            ("nsp", "/"),
            ("type", "7"),
            ("data", r#"{"opts":{}}"#),
        ],
        &[
            ("uid", "a"),
            ("nsp", "/"),
            ("type", "8"),
            ("data", r#"{"requestId":"r","sockets":[1]}"#),
        ],
    ];
    for case in cases {
        assert!(
            ClusterMessage::from_fields(&fields(case)).is_err(),
            "{case:?} decoded"
        );
    }
    let bad_utf8 = vec![
        (Bytes::from_static(b"uid"), Bytes::from_static(&[0xff])),
        (Bytes::from_static(b"nsp"), Bytes::from_static(b"/")),
        (Bytes::from_static(b"type"), Bytes::from_static(b"2")),
    ];
    assert_eq!(
        ClusterMessage::from_fields(&bad_utf8),
        Err(MessageError::Field("uid"))
    );
}

fn value_strategy() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        (-1_000_000_000i64..1_000_000_000).prop_map(Value::Int),
        ".{0,20}".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::Bin(Bytes::from(b))),
    ];
    leaf.prop_recursive(3, 32, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,6}", inner), 0..8).prop_map(Value::Map),
        ]
    })
    .boxed()
}

fn body_strategy() -> impl Strategy<Value = ClusterBody> {
    let rooms = || proptest::collection::vec("[a-z0-9]{1,6}", 0..3);
    let targets = (rooms(), rooms(), proptest::option::of(0i64..100_000)).prop_map(
        |(rooms, except, timeout)| Targets {
            rooms,
            except,
            flags: Some(timeout.map(Flag::Timeout).into_iter().collect()),
        },
    );
    let packet = value_strategy().prop_map(|data| AdapterPacket {
        kind: PacketType::Event,
        nsp: "/".into(),
        data: Some(Value::Array(vec![s("ev"), data])),
        id: None,
    });
    prop_oneof![
        Just(ClusterBody::Heartbeat),
        (packet.clone(), targets.clone())
            .prop_map(|(packet, opts)| ClusterBody::Broadcast { packet, opts }),
        (packet, targets.clone(), "[a-f0-9]{16}").prop_map(|(packet, opts, request_id)| {
            ClusterBody::Request(Request::Broadcast {
                uid: "u".into(),
                request_id,
                packet,
                opts,
            })
        }),
        (targets.clone(), rooms()).prop_map(|(opts, rooms)| ClusterBody::Request(
            Request::RemoteLeave {
                uid: "u".into(),
                opts,
                rooms
            }
        )),
        (targets, any::<bool>()).prop_map(|(opts, close)| ClusterBody::Request(
            Request::RemoteDisconnect {
                uid: "u".into(),
                opts,
                close
            }
        )),
        (
            proptest::option::of("[a-f0-9]{16}"),
            proptest::collection::vec(value_strategy(), 0..4)
        )
            .prop_map(
                |(request_id, data)| ClusterBody::Request(Request::ServerSideEmit {
                    uid: "u".into(),
                    request_id,
                    data
                })
            ),
        ("[a-f0-9]{16}", proptest::option::of(value_strategy())).prop_map(|(request_id, data)| {
            ClusterBody::Response(Response::ServerSideEmit { request_id, data })
        }),
        ("[a-f0-9]{16}", 0i64..1000).prop_map(|(request_id, client_count)| {
            ClusterBody::Response(Response::BroadcastClientCount {
                request_id,
                client_count,
            })
        }),
    ]
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn sharded_payloads_as_node_writes_them() {
    // `JSON.stringify` of a broadcast to one room: keys type, data, uid, nsp.
    let json = br#"{"type":3,"data":{"packet":{"type":2,"data":["news","to blue"],"nsp":"/"},"opts":{"rooms":["blue"],"except":[],"flags":{}}},"uid":"Xy12ab","nsp":"/"}"#;
    let message = ClusterMessage::from_payload(json).unwrap();
    assert_eq!(
        (message.uid.as_str(), message.nsp.as_str()),
        ("Xy12ab", "/")
    );
    let ClusterBody::Broadcast { packet, opts } = &message.body else {
        panic!("not a broadcast: {message:?}");
    };
    let data = Value::Array(vec![s("news"), s("to blue")]);
    assert_eq!(packet, &AdapterPacket::event("/", data));
    assert_eq!(opts.rooms, vec!["blue".to_string()]);
    assert_eq!(message.to_payload().unwrap(), json.to_vec());
    // With a buffer: notepack's MessagePack of the whole message.
    let packed = unhex("84a47479706503a46461746182a67061636b657483a47479706502a46461746192a362696ec4030001ffa36e7370a12fa46f70747383a5726f6f6d7390a665786365707491a172a5666c61677380a3756964a6587931326162a36e7370a12f");
    let message = ClusterMessage::from_payload(&packed).unwrap();
    let ClusterBody::Broadcast { packet, opts } = &message.body else {
        panic!("not a broadcast: {message:?}");
    };
    let bin = Value::Bin(Bytes::from_static(&[0, 1, 255]));
    assert_eq!(
        packet,
        &AdapterPacket::event("/", Value::Array(vec![s("bin"), bin]))
    );
    assert_eq!(opts.except, vec!["r".to_string()]);
    assert_eq!(message.to_payload().unwrap(), packed);
    // A response, as `publishResponse` sends it.
    let json = br#"{"type":10,"data":{"requestId":"reqid1","packet":42},"uid":"Zz9","nsp":"/"}"#;
    let message = ClusterMessage::from_payload(json).unwrap();
    assert_eq!(
        message.body,
        ClusterBody::Response(Response::ServerSideEmit {
            request_id: "reqid1".into(),
            data: Some(Value::Int(42)),
        })
    );
    assert_eq!(message.to_payload().unwrap(), json.to_vec());
}

#[test]
fn hostile_sharded_payloads_are_errors() {
    for payload in [
        &b""[..],
        b"{",
        b"{}",
        b"[]",
        b"null",
        br#"{"type":3,"uid":"u","nsp":"/"}"#,
        br#"{"type":99,"data":{},"uid":"u","nsp":"/"}"#,
        br#"{"type":"3","data":{},"uid":"u","nsp":"/"}"#,
        br#"{"type":3,"data":{"packet":1,"opts":{}},"uid":"u","nsp":"/"}"#,
        br#"{"type":7,"data":{"opts":{"rooms":[1]}},"uid":"u","nsp":"/"}"#,
        br#"{"type":1,"uid":7,"nsp":"/"}"#,
        b"\xc1\xc1",
        b"\x84\xa4type",
        b"{\xff}",
    ] {
        assert!(
            ClusterMessage::from_payload(payload).is_err(),
            "{payload:?}"
        );
    }
    assert!(matches!(
        ClusterMessage::from_payload(br#"{"type":42,"uid":"u","nsp":"/"}"#),
        Err(MessageError::UnknownType(42))
    ));
}

proptest! {
    #[test]
    fn sharded_payloads_round_trip(body in body_strategy(), nsp in "/[a-z]{0,6}") {
        let message = ClusterMessage { uid: "u".into(), nsp, body };
        let written = message.to_payload().unwrap();
        let read = ClusterMessage::from_payload(&written).unwrap();
        prop_assert_eq!(&read, &message);
        prop_assert_eq!(read.to_payload().unwrap(), written);
    }

    #[test]
    fn arbitrary_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(message) = ClusterMessage::from_payload(&payload) {
            let _ = message.to_payload();
        }
    }

    #[test]
    fn entries_round_trip(body in body_strategy(), nsp in "/[a-z]{0,6}") {
        let message = ClusterMessage { uid: "u".into(), nsp, body };
        let written = message.to_fields().unwrap();
        let entry: Vec<(Bytes, Bytes)> = written
            .iter()
            .map(|(name, value)| (Bytes::from_static(name.as_bytes()), Bytes::from(value.clone())))
            .collect();
        let read = ClusterMessage::from_fields(&entry).unwrap();
        prop_assert_eq!(&read, &message);
        prop_assert_eq!(read.to_fields().unwrap(), written);
    }

    #[test]
    fn arbitrary_fields_never_panic(
        kind in 0u8..16,
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let entry = vec![
            (Bytes::from_static(b"uid"), Bytes::from_static(b"u")),
            (Bytes::from_static(b"nsp"), Bytes::from_static(b"/")),
            (Bytes::from_static(b"type"), Bytes::from(kind.to_string())),
            (Bytes::from_static(b"data"), Bytes::from(data)),
        ];
        if let Ok(message) = ClusterMessage::from_fields(&entry) {
            let _ = message.to_fields();
        }
    }
}
