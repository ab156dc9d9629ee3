//! Codec throughput: a typical EVENT packet through the Socket.IO and
//! Engine.IO layers, a 64 KiB binary event, and WebSocket decoding of a
//! stream of small frames. Run with `cargo bench -p sio-core --bench codecs`.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sio_core::engine;
use sio_core::packet::{self, JsonParser, Packet, PacketType, Parser, RawJson};
use sio_core::wire::ws::frame::{encode_frame, Decoder, Limits, OpCode, Role};

const EVENT_JSON: &str = r#"["chat",{"message":"hello","user":42}]"#;

fn event_packet() -> Packet {
    Packet {
        kind: PacketType::Event,
        nsp: ByteString::from_static("/"),
        id: None,
        data: Some(RawJson::parse(ByteString::from_static(EVENT_JSON)).expect("valid JSON")),
        attachments: Vec::new(),
    }
}

fn binary_packet(size: usize) -> Packet {
    Packet {
        kind: PacketType::BinaryEvent,
        nsp: ByteString::from_static("/"),
        id: None,
        data: Some(
            RawJson::parse(ByteString::from_static(
                r#"["upload",{"_placeholder":true,"num":0}]"#,
            ))
            .expect("valid JSON"),
        ),
        attachments: vec![Bytes::from(vec![0xA5u8; size])],
    }
}

fn event_codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("event");
    group.throughput(Throughput::Elements(1));
    let pkt = event_packet();
    group.bench_function("encode", |b| {
        let mut out = BytesMut::with_capacity(128);
        b.iter(|| {
            out.clear();
            out.extend_from_slice(b"4");
            packet::encode(black_box(&pkt), &mut out);
            black_box(&out);
        })
    });
    let wire = {
        let mut out = BytesMut::new();
        packet::encode(&pkt, &mut out);
        ByteString::try_from(out.freeze()).expect("UTF-8")
    };
    group.bench_function("decode", |b| {
        let mut decoder = JsonParser.decoder(packet::Limits::default());
        b.iter(|| {
            let decoded = decoder
                .decode_text(black_box(wire.clone()))
                .expect("decodes");
            black_box(decoded);
        })
    });
    let engine_text = {
        let mut s = String::from("4");
        s.push_str(&wire);
        ByteString::from(s)
    };
    group.bench_function("engine_decode_then_decode", |b| {
        let mut decoder = JsonParser.decoder(packet::Limits::default());
        b.iter(|| {
            let ep = engine::Packet::decode_text(black_box(engine_text.clone())).expect("decodes");
            if let engine::Packet::Message(text) = ep {
                black_box(decoder.decode_text(text).expect("decodes"));
            }
        })
    });
    group.finish();
}

fn binary_codec(c: &mut Criterion) {
    const SIZE: usize = 64 * 1024;
    let mut group = c.benchmark_group("binary_64k");
    group.throughput(Throughput::Bytes(SIZE as u64));
    let pkt = binary_packet(SIZE);
    group.bench_function("encode", |b| {
        let mut out = Vec::with_capacity(2);
        b.iter(|| {
            out.clear();
            JsonParser.encode(black_box(&pkt), &mut out);
            black_box(&out);
        })
    });
    let mut messages = Vec::new();
    JsonParser.encode(&pkt, &mut messages);
    group.bench_function("decode", |b| {
        let mut decoder = JsonParser.decoder(packet::Limits::default());
        b.iter(|| {
            let mut done = None;
            for m in &messages {
                done = match m {
                    engine::Packet::Message(t) => decoder.decode_text(t.clone()).expect("decodes"),
                    engine::Packet::Binary(d) => decoder.decode_binary(d.clone()).expect("decodes"),
                    _ => None,
                };
            }
            black_box(done.expect("complete"));
        })
    });
    group.finish();
}

fn ws_stream(c: &mut Criterion) {
    const FRAMES: usize = 1000;
    let mut stream = BytesMut::new();
    for i in 0..FRAMES {
        let mask = (i as u32).wrapping_mul(0x9E37_79B9).to_be_bytes();
        encode_frame(
            &mut stream,
            true,
            OpCode::Text,
            EVENT_JSON.as_bytes(),
            Some(mask),
        );
    }
    let stream = stream.freeze();
    let mut group = c.benchmark_group("ws_small_frames");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("decode_1000", |b| {
        b.iter(|| {
            let mut decoder = Decoder::new(Role::Server, Limits::default());
            // Reads of 4 KiB, as a socket would deliver them.
            let mut count = 0;
            for chunk in stream.chunks(4096) {
                decoder.feed(chunk);
                while let Some(msg) = decoder.poll_message().expect("valid stream") {
                    black_box(msg);
                    count += 1;
                }
            }
            assert_eq!(count, FRAMES);
        })
    });
    group.finish();
}

criterion_group!(benches, event_codec, binary_codec, ws_stream);
criterion_main!(benches);
