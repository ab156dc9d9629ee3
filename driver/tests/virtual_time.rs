//! The whole driver on virtual time: handlers, middleware, acks with
//! deadlines, rooms, disconnect reasons, heartbeats, HTTP deadlines and the
//! client's reconnection, over in-memory connections with no sockets, no
//! threads and no sleeping (see `sio_driver::testing`). Every deadline is
//! checked to the nanosecond: nothing a nanosecond before, then exactly at.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sio_driver::testing::{RawClient, VirtualRuntime};
use sio_driver::{
    client_socket, AckError, ClientConfig, ClientTransport, Config, ConnectError, DisconnectReason,
    Runtime, Socket, SocketIo,
};

const NS: Duration = Duration::from_nanos(1);

/// What handlers report, read by the test after driving the runtime.
#[derive(Clone)]
struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T: Clone> Log<T> {
    fn new() -> Self {
        Log(Arc::new(Mutex::new(Vec::new())))
    }
    fn push(&self, value: T) {
        self.0.lock().unwrap().push(value);
    }
    fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A server on `rt` whose `/` sockets are logged as they connect.
fn server(rt: &VirtualRuntime, config: Config) -> (SocketIo, Log<Socket>) {
    let io = SocketIo::with_runtime(rt.clone(), config);
    let sockets = Log::new();
    let log = sockets.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        async move { log.push(socket) }
    });
    (io, sockets)
}

fn sid_of(connect_reply: &str) -> String {
    let json = connect_reply
        .strip_prefix("40")
        .unwrap_or_else(|| panic!("not a CONNECT reply: {connect_reply}"));
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    value["sid"].as_str().unwrap().to_owned()
}

// ----- connection and middleware -----

#[test]
fn connection_handler_gets_the_socket_of_the_connect_reply() {
    let rt = VirtualRuntime::new();
    let (io, sockets) = server(&rt, Config::default());
    let (client, reply) = RawClient::connect(&rt, &io, "/", None);
    let open: serde_json::Value = serde_json::from_str(client.open_json()).unwrap();
    assert_eq!(open["pingInterval"], 25000);
    let sockets = sockets.take();
    assert_eq!(sockets.len(), 1);
    assert_eq!(sockets[0].id(), sid_of(&reply.text));
    assert!(sockets[0].connected());
    assert_eq!(io.socket_count(), 1);
    // Handshakes are dated by the runtime's (virtual) wall clock.
    assert_eq!(sockets[0].handshake().issued(), Runtime::wall_clock(&rt));
    assert_eq!(sockets[0].handshake().issued_millis(), 1_700_000_000_000);
}

#[test]
fn middleware_refusal_is_a_connect_error_with_its_message_and_data() {
    let rt = VirtualRuntime::new();
    let (io, sockets) = server(&rt, Config::default());
    let seen = Log::new();
    let log = seen.clone();
    io.use_middleware(move |ctx| {
        let log = log.clone();
        async move {
            log.push(ctx.handshake().auth_raw().map(|a| a.as_str().to_owned()));
            Err(ConnectError::new("not authorized").with_data(&serde_json::json!({"code": 401})))
        }
    });
    let (mut client, reply) = RawClient::connect(&rt, &io, "/", Some(r#"{"token":"bad"}"#));
    assert_eq!(
        reply.text,
        r#"44{"message":"not authorized","data":{"code":401}}"#
    );
    assert_eq!(seen.take(), vec![Some(r#"{"token":"bad"}"#.to_owned())]);
    assert_eq!(sockets.len(), 0, "the connection handler never ran");
    assert_eq!(io.socket_count(), 0);
    assert_eq!(client.closed(), None, "the connection stays usable");
}

#[test]
fn the_sio_client_hears_a_refusal_with_its_message() {
    let rt = VirtualRuntime::new();
    let (io, _) = server(&rt, Config::default());
    io.use_middleware(|_| async move { Err(ConnectError::new("go away")) });
    rt.listen("localhost", 3000, &io);
    let client =
        client_socket(rt.clone(), "http://localhost:3000", ClientConfig::default()).unwrap();
    let errors = Log::new();
    let log = errors.clone();
    client.on_connect_error(move |_, error| {
        let log = log.clone();
        async move { log.push(error.message) }
    });
    client.connect();
    rt.run_until_idle();
    assert_eq!(errors.take(), vec!["go away".to_owned()]);
    assert!(!client.connected());
}

// ----- events -----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Message {
    a: u32,
    b: String,
}

#[test]
fn typed_and_binary_arguments_reach_the_handler_and_its_ack() {
    let rt = VirtualRuntime::new();
    let (io, _) = server(&rt, Config::default());
    let got = Log::new();
    let log = got.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        async move {
            socket.on("msg", move |_, (m, data): (Message, Bytes), ack| {
                let log = log.clone();
                async move {
                    log.push((m.clone(), data.clone()));
                    let reversed: Vec<u8> = data.iter().rev().copied().collect();
                    let _ = ack.send(&(m.a + 1, Bytes::from(reversed)));
                }
            });
        }
    });
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    client.send_text(
        r#"451-7["msg",{"a":1,"b":"x"},{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3]],
    );
    let ack = client.recv().expect("the ack");
    assert_eq!(
        got.take(),
        vec![(
            Message {
                a: 1,
                b: "x".into()
            },
            Bytes::from_static(&[1, 2, 3])
        )]
    );
    assert_eq!(ack.text, r#"461-7[2,{"_placeholder":true,"num":0}]"#);
    assert_eq!(ack.packet.attachments, vec![Bytes::from_static(&[3, 2, 1])]);
}

#[test]
fn acks_both_ways_with_the_sio_client() {
    let rt = VirtualRuntime::new();
    let (io, sockets) = server(&rt, Config::default());
    io.on_connection(|socket| async move {
        socket.on("add", |_, (a, b): (i32, i32), ack| async move {
            let _ = ack.send(&(a + b));
        });
    });
    rt.listen("localhost", 3000, &io);
    let mut config = ClientConfig::default();
    config.engine.transports = vec![ClientTransport::WebSocket];
    let client = client_socket(rt.clone(), "http://localhost:3000", config).unwrap();
    client.on("question", |_, text: String, ack| async move {
        let _ = ack.send(&format!("{text}? yes"));
    });
    client.connect();
    rt.run_until_idle();
    assert!(client.connected());
    let sum: i32 = rt.block_on(client.emit_with_ack("add", &(2, 3))).unwrap();
    assert_eq!(sum, 5);
    let socket = sockets.take().pop().unwrap();
    let answer: String = rt
        .block_on(socket.emit_with_ack("question", &"ready"))
        .unwrap();
    assert_eq!(answer, "ready? yes");
    assert_eq!(rt.elapsed(), Duration::ZERO, "no time passed");
}

#[test]
fn emit_with_ack_times_out_exactly_at_its_deadline() {
    let rt = VirtualRuntime::new();
    let (io, sockets) = server(&rt, Config::default());
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    let socket = sockets.take().pop().unwrap();
    let start = rt.elapsed();
    let pending = rt.spawn_task(
        socket
            .timeout(Duration::from_millis(1500))
            .emit_with_ack::<_, String>("slow", &()),
    );
    rt.run_until_idle();
    assert_eq!(client.recv_text(), r#"420["slow"]"#);
    rt.advance(Duration::from_millis(1500) - NS);
    assert!(!pending.is_finished(), "not a nanosecond early");
    rt.advance(NS);
    assert!(pending.is_finished(), "exactly at the deadline");
    assert!(matches!(pending.take(), Err(AckError::Timeout)));
    assert_eq!(rt.elapsed() - start, Duration::from_millis(1500));
    // A late ack is ignored, and the socket goes on.
    client.send_text(r#"430["late"]"#, &[]);
    assert!(client.recv().is_none());
    assert!(socket.connected());
}

#[test]
fn the_sio_client_ack_timeout_is_exact_too() {
    let rt = VirtualRuntime::new();
    let (io, _) = server(&rt, Config::default());
    io.on_connection(|socket| async move {
        // Never answers.
        socket.on("wait", |_, (): (), _ack| async move {});
    });
    rt.listen("localhost", 3000, &io);
    let mut config = ClientConfig::default();
    config.engine.transports = vec![ClientTransport::WebSocket];
    let client = client_socket(rt.clone(), "http://localhost:3000", config).unwrap();
    client.connect();
    rt.run_until_idle();
    let pending = rt.spawn_task(
        client
            .timeout(Duration::from_secs(2))
            .emit_with_ack::<_, ()>("wait", &()),
    );
    rt.advance(Duration::from_secs(2) - NS);
    assert!(!pending.is_finished());
    rt.advance(NS);
    assert!(matches!(pending.take(), Err(AckError::Timeout)));
}

// ----- rooms and broadcast -----

#[test]
fn rooms_join_leave_and_broadcast_excluding_the_sender() {
    let rt = VirtualRuntime::new();
    let (io, _) = server(&rt, Config::default());
    io.on_connection(|socket| async move {
        socket.on("join", |socket, room: String, _| async move {
            socket.join(&room).unwrap();
        });
        socket.on("leave", |socket, room: String, _| async move {
            socket.leave(&room).unwrap();
        });
        socket.on(
            "say",
            |socket, (room, text): (String, String), _| async move {
                socket.to(&room).emit("said", &text).unwrap();
                // Everything before this reached the sender first.
                socket.emit("done", &()).unwrap();
            },
        );
    });
    let mut a = RawClient::connect(&rt, &io, "/", None).0;
    let mut b = RawClient::connect(&rt, &io, "/", None).0;
    let mut c = RawClient::connect(&rt, &io, "/", None).0;
    a.send_text(r#"42["join","r"]"#, &[]);
    b.send_text(r#"42["join","r"]"#, &[]);
    rt.run_until_idle();
    a.send_text(r#"42["say","r","hi"]"#, &[]);
    assert_eq!(a.recv_text(), r#"42["done"]"#, "the sender is left out");
    assert_eq!(b.recv_text(), r#"42["said","hi"]"#);
    assert!(c.recv().is_none(), "not in the room");
    b.send_text(r#"42["leave","r"]"#, &[]);
    c.send_text(r#"42["join","r"]"#, &[]);
    rt.run_until_idle();
    a.send_text(r#"42["say","r","again"]"#, &[]);
    assert_eq!(a.recv_text(), r#"42["done"]"#);
    assert!(b.recv().is_none(), "left the room");
    assert_eq!(c.recv_text(), r#"42["said","again"]"#);
    // The server's own broadcast to the room reaches every member.
    io.to("r").emit("all", &1).unwrap();
    assert_eq!(a.recv_text(), r#"42["all",1]"#);
    assert!(b.recv().is_none());
    assert_eq!(c.recv_text(), r#"42["all",1]"#);
}

// ----- disconnects -----

/// A server whose `/` sockets log their disconnect reason.
fn server_logging_disconnects(
    rt: &VirtualRuntime,
    config: Config,
) -> (SocketIo, Log<Socket>, Log<DisconnectReason>) {
    let (io, sockets) = server(rt, config);
    let reasons = Log::new();
    let log = reasons.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        async move {
            socket.on_disconnect(move |_, reason| {
                let log = log.clone();
                async move { log.push(reason) }
            });
        }
    });
    (io, sockets, reasons)
}

#[test]
fn client_namespace_disconnect() {
    let rt = VirtualRuntime::new();
    let (io, _, reasons) = server_logging_disconnects(&rt, Config::default());
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    client.send_text("41", &[]);
    rt.run_until_idle();
    assert_eq!(
        reasons.take(),
        vec![DisconnectReason::ClientNamespaceDisconnect]
    );
    assert_eq!(io.socket_count(), 0);
    assert_eq!(client.closed(), None, "the connection stays");
}

#[test]
fn server_namespace_disconnect() {
    let rt = VirtualRuntime::new();
    let (io, sockets, reasons) = server_logging_disconnects(&rt, Config::default());
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    sockets.take()[0].disconnect().unwrap();
    assert_eq!(client.recv_text(), "41");
    assert_eq!(
        reasons.take(),
        vec![DisconnectReason::ServerNamespaceDisconnect]
    );
}

#[test]
fn transport_close_when_the_client_goes_away() {
    let rt = VirtualRuntime::new();
    let (io, _, reasons) = server_logging_disconnects(&rt, Config::default());
    let (client, _) = RawClient::connect(&rt, &io, "/", None);
    client.drop_connection();
    rt.run_until_idle();
    assert_eq!(reasons.take(), vec![DisconnectReason::TransportClose]);
    assert_eq!(io.socket_count(), 0);
}

#[test]
fn ping_timeout_exactly_at_ping_interval_plus_ping_timeout() {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.engine.ping_interval = Duration::from_millis(300);
    config.engine.ping_timeout = Duration::from_millis(200);
    let (io, _, reasons) = server_logging_disconnects(&rt, config);
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    let start = rt.elapsed();
    // A client that answers stays, ping after ping.
    for _ in 0..3 {
        rt.advance(Duration::from_millis(300));
        assert_eq!(client.closed(), None);
    }
    assert_eq!(client.pings(), 3);
    // Now it stalls: the last ping went out at 900 ms.
    client.set_auto_pong(false);
    rt.advance(Duration::from_millis(300));
    assert_eq!(client.closed(), None);
    assert_eq!(client.pings(), 4, "a ping at 1200 ms, unanswered");
    rt.advance(start + Duration::from_millis(1400) - NS - rt.elapsed());
    assert!(reasons.take().is_empty(), "not a nanosecond early");
    rt.advance(NS);
    assert_eq!(reasons.take(), vec![DisconnectReason::PingTimeout]);
    assert_eq!(rt.elapsed() - start, Duration::from_millis(1400));
    assert!(client.closed().is_some());
}

// ----- HTTP deadlines -----

#[test]
fn headers_timeout_closes_a_connection_at_its_deadline() {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.engine.headers_timeout = Duration::from_secs(7);
    let (io, _) = server(&rt, config);
    let (mut end, control) = rt.connect_raw(&io, 4096);
    end.write_now(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n")
        .unwrap();
    rt.advance(Duration::from_secs(7) - NS);
    assert!(end.read_now().is_empty());
    assert!(!end.at_eof());
    rt.advance(NS);
    let answer = String::from_utf8(end.read_now()).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a slow head gets 408: {answer}"
    );
    assert!(end.at_eof());
    rt.run_until_idle();
    assert!(control.is_closed());
}

#[test]
fn keep_alive_timeout_closes_an_idle_connection_at_its_deadline() {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.engine.keep_alive_timeout = Duration::from_secs(3);
    let (io, _) = server(&rt, config);
    let (mut end, _) = rt.connect_raw(&io, 4096);
    end.write_now(b"GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    rt.run_until_idle();
    let answer = String::from_utf8(end.read_now()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    rt.advance(Duration::from_secs(3) - NS);
    assert!(!end.at_eof(), "still open a nanosecond before");
    rt.advance(NS);
    assert!(end.at_eof(), "closed silently at the deadline");
    assert!(end.read_now().is_empty());
}

// ----- the client's reconnection -----

#[test]
fn the_client_reconnects_after_its_delay_and_delivers_buffered_emits() {
    let rt = VirtualRuntime::new();
    let (io, sockets) = server(&rt, Config::default());
    let received = Log::new();
    let log = received.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        async move {
            socket.on("note", move |_, text: String, _| {
                let log = log.clone();
                async move { log.push(text) }
            });
        }
    });
    let listener = rt.listen("localhost", 3000, &io);
    let mut config = ClientConfig::default();
    config.engine.transports = vec![ClientTransport::WebSocket];
    config.engine.reconnection_delay = Duration::from_millis(1000);
    config.engine.reconnection_delay_max = Duration::from_millis(10_000);
    config.engine.randomization_factor = 0.0;
    let client = client_socket(rt.clone(), "http://localhost:3000", config).unwrap();
    let events = Log::new();
    let (on_connect, on_disconnect) = (events.clone(), events.clone());
    client.on_connect(move |_| {
        let log = on_connect.clone();
        async move { log.push("connect".to_owned()) }
    });
    client.on_disconnect(move |_, reason| {
        let log = on_disconnect.clone();
        async move { log.push(format!("disconnect: {}", reason.as_str())) }
    });
    client.connect();
    rt.run_until_idle();
    assert_eq!(events.take(), vec!["connect"]);
    let first_id = client.id().unwrap();
    assert_eq!(sockets.take().len(), 1);

    // The server side drops the connection; the port refuses for a while.
    listener.set_accepting(false);
    let dropped_at = rt.elapsed();
    listener.close_connections();
    rt.run_until_idle();
    assert_eq!(events.take(), vec!["disconnect: transport close"]);
    assert!(!client.connected());
    client.emit("note", &"sent while offline").unwrap();

    // First attempt after exactly 1 s (refused), the next 2 s later.
    rt.advance(Duration::from_millis(1000) - NS);
    assert_eq!(listener.attempts().len(), 1, "not a nanosecond early");
    rt.advance(NS);
    assert_eq!(
        listener.attempts(),
        vec![Duration::ZERO, dropped_at + Duration::from_millis(1000)]
    );
    listener.set_accepting(true);
    rt.advance(Duration::from_millis(2000) - NS);
    assert_eq!(listener.attempts().len(), 2);
    rt.advance(NS);
    assert_eq!(
        listener.attempts()[2],
        dropped_at + Duration::from_millis(3000)
    );
    rt.run_until_idle();
    assert_eq!(events.take(), vec!["connect"]);
    assert!(client.connected());
    assert_ne!(client.id().unwrap(), first_id, "a new socket");
    assert_eq!(sockets.take().len(), 1);
    assert_eq!(received.take(), vec!["sent while offline".to_owned()]);
}

#[test]
fn ping_timeout_of_a_client_stalled_from_the_start() {
    let rt = VirtualRuntime::new();
    // The defaults: pingInterval 25 s, pingTimeout 20 s.
    let (io, _, reasons) = server_logging_disconnects(&rt, Config::default());
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    client.set_auto_pong(false);
    let opened = rt.elapsed();
    rt.advance(Duration::from_secs(45) - NS);
    assert!(reasons.take().is_empty());
    assert_eq!(client.closed(), None);
    assert_eq!(client.pings(), 1, "one ping, at 25 s");
    rt.advance(NS);
    assert_eq!(reasons.take(), vec![DisconnectReason::PingTimeout]);
    assert_eq!(rt.elapsed() - opened, Duration::from_secs(45));
    assert!(client.closed().is_some());
    assert_eq!(io.socket_count(), 0);
}

#[test]
fn io_emit_with_ack_collects_every_ack_or_times_out_at_its_deadline() {
    let rt = VirtualRuntime::new();
    let (io, _) = server(&rt, Config::default());
    let mut a = RawClient::connect(&rt, &io, "/", None).0;
    let mut b = RawClient::connect(&rt, &io, "/", None).0;
    // Both answer: the future completes with both acks, at once.
    let all = rt.spawn_task(
        io.timeout(Duration::from_secs(1))
            .emit_with_ack::<_, u32>("count", &()),
    );
    let (ra, rb) = (a.recv().unwrap(), b.recv().unwrap());
    a.send_text(&format!("43{}[1]", ra.packet.id.unwrap()), &[]);
    b.send_text(&format!("43{}[2]", rb.packet.id.unwrap()), &[]);
    rt.run_until_idle();
    assert!(all.is_finished());
    let mut acks = all.take().unwrap();
    acks.sort();
    assert_eq!(acks, vec![1, 2]);
    // One stays silent: a timeout exactly at the deadline.
    let some = rt.spawn_task(
        io.timeout(Duration::from_secs(1))
            .emit_with_ack::<_, u32>("count", &()),
    );
    let ra = a.recv().unwrap();
    b.recv().unwrap();
    a.send_text(&format!("43{}[1]", ra.packet.id.unwrap()), &[]);
    rt.advance(Duration::from_secs(1) - NS);
    assert!(!some.is_finished());
    rt.advance(NS);
    assert!(matches!(some.take(), Err(AckError::Timeout)));
}

#[test]
fn the_sio_client_leaving_its_namespace_is_a_client_namespace_disconnect() {
    let rt = VirtualRuntime::new();
    let (io, _, reasons) = server_logging_disconnects(&rt, Config::default());
    rt.listen("localhost", 3000, &io);
    let client =
        client_socket(rt.clone(), "http://localhost:3000", ClientConfig::default()).unwrap();
    let heard = Log::new();
    let log = heard.clone();
    client.on_disconnect(move |_, reason| {
        let log = log.clone();
        async move { log.push(reason.as_str()) }
    });
    client.connect();
    rt.run_until_idle();
    assert!(client.connected());
    client.disconnect();
    rt.run_until_idle();
    assert_eq!(
        reasons.take(),
        vec![DisconnectReason::ClientNamespaceDisconnect]
    );
    assert_eq!(heard.take(), vec!["io client disconnect"]);
    // It does not come back.
    rt.advance(Duration::from_secs(60));
    assert_eq!(io.socket_count(), 0);
}

#[test]
fn the_client_over_polling_and_upgrade_reconnects_too() {
    let rt = VirtualRuntime::new();
    let (io, sockets) = server(&rt, Config::default());
    let listener = rt.listen("localhost", 3000, &io);
    let mut config = ClientConfig::default();
    config.engine.randomization_factor = 0.0;
    let client = client_socket(rt.clone(), "http://localhost:3000", config).unwrap();
    client.connect();
    rt.run_until_idle();
    assert!(client.connected());
    assert_eq!(
        client.manager().transport(),
        Some(ClientTransport::WebSocket)
    );
    assert_eq!(sockets.take().len(), 1);
    let before = listener.attempts().len();
    listener.abort_connections();
    rt.run_until_idle();
    assert!(!client.connected());
    rt.advance(Duration::from_millis(1000) - NS);
    assert_eq!(listener.attempts().len(), before);
    rt.advance(NS);
    assert!(listener.attempts().len() > before, "an attempt at 1 s");
    rt.run_until_idle();
    assert!(client.connected());
    assert_eq!(sockets.take().len(), 1);
}

// ----- backpressure -----

/// A server whose sockets join `kept` and log their disconnects with ids.
fn server_for_fanout(
    rt: &VirtualRuntime,
    config: Config,
) -> (SocketIo, Log<Socket>, Log<(String, DisconnectReason)>) {
    let (io, sockets) = server(rt, config);
    let reasons = Log::new();
    let log = reasons.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        async move {
            socket.join("kept").unwrap();
            socket.on_disconnect(move |socket, reason| {
                let log = log.clone();
                async move { log.push((socket.id().to_owned(), reason)) }
            });
        }
    });
    (io, sockets, reasons)
}

#[test]
fn a_stalled_reader_is_dropped_at_the_packet_limit() {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.engine.max_buffered_packets = 8;
    let (io, sockets, reasons) = server_for_fanout(&rt, config);
    let mut reader = RawClient::connect(&rt, &io, "/", None).0;
    // Whatever the stalled client does not read fills its 1 KiB pipe.
    let (mut stalled_end, _) = rt.connect_raw(&io, 1024);
    let key = sio_core::wire::ws::handshake::client_key(*b"stalled-client!!");
    let head = sio_core::wire::ws::handshake::client_request_head(
        "localhost",
        "/socket.io/?EIO=4&transport=websocket",
        &key,
    );
    stalled_end.write_now(head.as_bytes()).unwrap();
    rt.run_until_idle();
    // The CONNECT, masked as a client must.
    let mut frame = bytes::BytesMut::new();
    sio_core::wire::ws::frame::encode_frame(
        &mut frame,
        true,
        sio_core::wire::ws::OpCode::Text,
        b"40",
        Some([9, 9, 9, 9]),
    );
    stalled_end.write_now(&frame).unwrap();
    rt.run_until_idle();
    let stalled_id = sockets.take()[1].id().to_owned();
    let text = "x".repeat(200);
    let expected = format!(r#"42["big","{text}"]"#);
    let mut sent = 0;
    while reasons.len() == 0 {
        io.to("kept").emit("big", &text).unwrap();
        sent += 1;
        assert_eq!(reader.recv_text(), expected, "the reader gets every packet");
        assert!(sent < 100, "the stalled reader was never dropped");
    }
    assert_eq!(
        reasons.take(),
        vec![(stalled_id, DisconnectReason::TransportError)]
    );
    assert_eq!(io.socket_count(), 1);
    // Deterministic, the same on every run: the 1 KiB pipe takes four
    // 216-byte frames (and the start of a fifth, the write in progress),
    // the eight after it wait in the queue, and the next one is too many.
    assert_eq!(sent, 12);
    io.to("kept").emit("after", &()).unwrap();
    assert_eq!(reader.recv_text(), r#"42["after"]"#);
}

#[test]
fn a_reader_behind_a_tiny_pipe_that_keeps_up_is_never_dropped() {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.engine.max_buffered_packets = 4;
    let (io, _, reasons) = server_for_fanout(&rt, config);
    let mut client = RawClient::open_with_capacity(&rt, &io, "", 256);
    client.send_text("40", &[]);
    assert!(client.recv_text().starts_with("40{"));
    // Each packet is larger than what the pipe carries at once: every
    // write is partial and waits for the reader.
    let text = "y".repeat(3000);
    let expected = format!(r#"42["big","{text}"]"#);
    for _ in 0..20 {
        for _ in 0..3 {
            io.to("kept").emit("big", &text).unwrap();
        }
        for _ in 0..3 {
            assert!(client.recv_text() == expected, "a whole packet");
        }
    }
    assert!(reasons.take().is_empty());
    assert_eq!(io.socket_count(), 1);
}

// ----- tasks end -----

#[test]
fn an_ack_awaited_without_deadline_ends_when_the_socket_disconnects() {
    let rt = VirtualRuntime::new();
    let (io, sockets) = server(&rt, Config::default());
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    let socket = sockets.take().pop().unwrap();
    let pending = rt.spawn_task(socket.emit_with_ack::<_, ()>("never", &()));
    rt.run_until_idle();
    assert_eq!(client.recv_text(), r#"420["never"]"#);
    client.send_text("41", &[]);
    rt.run_until_idle();
    assert!(pending.is_finished());
    assert!(matches!(pending.take(), Err(AckError::Disconnected)));
}

#[test]
fn dropping_every_client_handle_closes_its_connection_and_ends_its_tasks() {
    let rt = VirtualRuntime::new();
    let (io, _) = server(&rt, Config::default());
    let listener = rt.listen("localhost", 3000, &io);
    rt.run_until_idle();
    let baseline = rt.live_tasks();
    let mut config = ClientConfig::default();
    config.engine.transports = vec![ClientTransport::WebSocket];
    let client = client_socket(rt.clone(), "http://localhost:3000", config).unwrap();
    client.connect();
    rt.run_until_idle();
    assert!(client.connected());
    assert_eq!(listener.open_connections(), 1);
    assert!(rt.live_tasks() > baseline);
    drop(client);
    rt.run_until_idle();
    assert_eq!(io.socket_count(), 0);
    assert_eq!(listener.open_connections(), 0);
    // Whatever lingers (a close handshake) is over within the close timeout.
    rt.advance(Duration::from_secs(31));
    assert_eq!(rt.live_tasks(), baseline, "every task of the client ended");
}

#[test]
fn the_client_detects_a_stalled_server_at_ping_interval_plus_ping_timeout_and_reconnects() {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.engine.ping_interval = Duration::from_millis(300);
    config.engine.ping_timeout = Duration::from_millis(200);
    let (io, sockets) = server(&rt, config);
    let listener = rt.listen("localhost", 3000, &io);
    let mut config = ClientConfig::default();
    config.engine.transports = vec![ClientTransport::WebSocket];
    config.engine.randomization_factor = 0.0;
    config.engine.reconnection_delay = Duration::from_millis(100);
    let client = client_socket(rt.clone(), "http://localhost:3000", config).unwrap();
    let reasons = Log::new();
    let log = reasons.clone();
    client.on_disconnect(move |_, reason| {
        let log = log.clone();
        async move { log.push(reason.as_str()) }
    });
    client.connect();
    rt.run_until_idle();
    assert!(client.connected());
    assert_eq!(sockets.take().len(), 1);
    // Heartbeats keep it up for a while.
    rt.advance(Duration::from_millis(1000));
    assert!(client.connected());
    // The last ping reached the client at 900 ms; then the network stalls.
    let last_ping = Duration::from_millis(900);
    listener.hold_connections(true);
    rt.advance(last_ping + Duration::from_millis(500) - NS - rt.elapsed());
    assert!(client.connected(), "not a nanosecond early");
    rt.advance(NS);
    assert!(!client.connected());
    assert_eq!(reasons.take(), vec!["ping timeout"]);
    // It reconnects after its delay, on a fresh connection.
    rt.advance(Duration::from_millis(100));
    assert!(client.connected());
    assert_eq!(sockets.take().len(), 1);
}

#[test]
fn a_dropped_server_ends_its_timer_task() {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.shards = 3;
    let io = SocketIo::with_runtime(rt.clone(), config);
    rt.run_until_idle();
    assert_eq!(rt.live_tasks(), 3, "the timer task of each shard");
    drop(io);
    rt.run_until_idle();
    // The timer task holds the server weakly; dropping the host wakes it
    // to find the server gone (it never ended before the host existed).
    assert_eq!(rt.live_tasks(), 0);
}

// ----- long-polling, spoken raw -----

/// Sends one HTTP request on a fresh in-memory connection and returns the
/// response, once the server has answered (time does not move).
fn http(
    rt: &VirtualRuntime,
    io: &SocketIo,
    method: sio_core::wire::http::Method,
    target: &str,
    body: &str,
) -> Option<sio_core::wire::http::ReceivedResponse> {
    let (mut end, _) = rt.connect_raw(io, 64 * 1024);
    let request = sio_core::wire::http::OutgoingRequest::new(method, target)
        .with_header("Connection", "close")
        .with_body(Bytes::copy_from_slice(body.as_bytes()));
    end.write_now(&request.to_bytes("localhost")).unwrap();
    rt.run_until_idle();
    let mut parser = sio_core::wire::http::ResponseParser::new(Default::default());
    parser.feed(&end.read_now());
    parser.poll_response().unwrap()
}

/// Opens a polling session; returns its sid.
fn polling_session(rt: &VirtualRuntime, io: &SocketIo) -> String {
    use sio_core::wire::http::Method;
    let open = http(
        rt,
        io,
        Method::Get,
        "/socket.io/?EIO=4&transport=polling",
        "",
    )
    .unwrap();
    assert_eq!(open.status, 200);
    let body = String::from_utf8(open.body.to_vec()).unwrap();
    let json: serde_json::Value = serde_json::from_str(body.strip_prefix('0').unwrap()).unwrap();
    json["sid"].as_str().unwrap().to_owned()
}

#[test]
fn a_polling_client_that_stops_polling_times_out_at_ping_interval_plus_ping_timeout() {
    use sio_core::wire::http::Method;
    let rt = VirtualRuntime::new();
    let (io, _, reasons) = server_logging_disconnects(&rt, Config::default());
    let sid = polling_session(&rt, &io);
    let base = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let posted = http(&rt, &io, Method::Post, &base, "40").unwrap();
    assert_eq!((posted.status, &posted.body[..]), (200, &b"ok"[..]));
    let reply = http(&rt, &io, Method::Get, &base, "").unwrap();
    assert!(reply.body.starts_with(b"40{\"sid\":"));
    assert_eq!(io.socket_count(), 1);
    // No GET after this: the ping at 25 s waits unsent, unanswered.
    rt.advance(Duration::from_secs(45) - NS);
    assert!(reasons.take().is_empty());
    rt.advance(NS);
    assert_eq!(reasons.take(), vec![DisconnectReason::PingTimeout]);
    let gone = http(&rt, &io, Method::Get, &base, "").unwrap();
    assert_eq!(gone.status, 400, "the session is gone");
}

#[test]
fn a_held_poll_is_answered_with_the_ping_at_the_ping_interval() {
    use sio_core::wire::http::Method;
    let rt = VirtualRuntime::new();
    let (io, _) = server(&rt, Config::default());
    let sid = polling_session(&rt, &io);
    let (mut end, _) = rt.connect_raw(&io, 64 * 1024);
    let request = sio_core::wire::http::OutgoingRequest::new(
        Method::Get,
        format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
    );
    end.write_now(&request.to_bytes("localhost")).unwrap();
    rt.advance(Duration::from_secs(25) - NS);
    assert!(end.read_now().is_empty(), "held until the ping");
    rt.advance(NS);
    let mut parser = sio_core::wire::http::ResponseParser::new(Default::default());
    parser.feed(&end.read_now());
    let response = parser.poll_response().unwrap().expect("answered at 25 s");
    assert_eq!((response.status, &response.body[..]), (200, &b"2"[..]));
}

#[test]
fn an_upgrade_that_never_completes_is_closed_at_the_upgrade_timeout() {
    use sio_core::wire::ws::frame::{encode_frame, Decoder, Limits};
    use sio_core::wire::ws::handshake::{client_key, client_request_head};
    use sio_core::wire::ws::{Message, OpCode, Role};
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.engine.upgrade_timeout = Duration::from_secs(4);
    let (io, _) = server(&rt, config);
    let sid = polling_session(&rt, &io);
    let (mut ws, _) = rt.connect_raw(&io, 64 * 1024);
    let key = client_key(*b"upgrading-client");
    let head = client_request_head(
        "localhost",
        &format!("/socket.io/?EIO=4&transport=websocket&sid={sid}"),
        &key,
    );
    ws.write_now(head.as_bytes()).unwrap();
    rt.run_until_idle();
    let mut parser = sio_core::wire::http::ResponseParser::new(Default::default());
    parser.feed(&ws.read_now());
    assert_eq!(parser.poll_response().unwrap().unwrap().status, 101);
    let started = rt.elapsed();
    let mut frame = bytes::BytesMut::new();
    encode_frame(
        &mut frame,
        true,
        OpCode::Text,
        b"2probe",
        Some([1, 2, 3, 4]),
    );
    ws.write_now(&frame).unwrap();
    rt.run_until_idle();
    let mut decoder = Decoder::new(Role::Client, Limits::default());
    decoder.feed(&parser.take_buffered());
    decoder.feed(&ws.read_now());
    match decoder.poll_message().unwrap() {
        Some(Message::Text(text)) => assert_eq!(&text[..], "3probe"),
        other => panic!("expected 3probe, got {other:?}"),
    }
    // No `5`: the upgrade is abandoned at exactly the upgrade timeout.
    rt.advance(Duration::from_secs(4) - NS);
    assert!(ws.read_now().is_empty() && !ws.at_eof());
    rt.advance(NS);
    assert_eq!(rt.elapsed() - started, Duration::from_secs(4));
    decoder.feed(&ws.read_now());
    let closed = matches!(decoder.poll_message(), Ok(Some(Message::Close(_)))) || ws.at_eof();
    assert!(closed, "the WebSocket is closed at the deadline");
    // The session goes on over polling.
    let base = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let posted = http(&rt, &io, sio_core::wire::http::Method::Post, &base, "40").unwrap();
    assert_eq!(posted.status, 200);
}
