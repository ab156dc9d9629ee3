//! The Engine.IO client (`engine_io::EngineClient`) against the Engine.IO
//! server, both on virtual time over in-memory connections: open, echo on
//! every transport, each close reason, the heartbeat deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sio_driver::engine_io::{
    engine_client, ClientCloseReason, Config, EngineClient, EngineClientEvent, EngineIo,
    EngineSocket, Message, SendError,
};
use sio_driver::testing::VirtualRuntime;
use sio_driver::{ClientConfig, ClientTransport};

const NS: Duration = Duration::from_nanos(1);

/// What the client heard, in order.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<EngineClientEvent>>>);

impl Heard {
    fn take(&self) -> Vec<EngineClientEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn server_config() -> Config {
    let mut config = Config::default();
    config.path = "/engine.io/".into();
    config.ping_interval = Duration::from_millis(300);
    config.ping_timeout = Duration::from_millis(200);
    config
}

/// An echo server; its sessions are kept for the test.
fn echo_server(rt: &VirtualRuntime) -> (EngineIo, Arc<Mutex<Vec<EngineSocket>>>) {
    let server = EngineIo::with_runtime(rt.clone(), server_config());
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let log = sessions.clone();
    server.on_connection(move |socket| {
        log.lock().unwrap().push(socket.clone());
        async move {
            socket.on_message(|socket, message| async move {
                let _ = socket.send(&message);
            });
        }
    });
    (server, sessions)
}

fn client(rt: &VirtualRuntime, transports: &[ClientTransport]) -> (EngineClient, Heard) {
    let mut config = ClientConfig::default();
    config.engine.transports = transports.to_vec();
    let client = engine_client(rt.clone(), "http://localhost:3000/engine.io/", config).unwrap();
    let heard = Heard::default();
    let log = heard.clone();
    client.on_event(move |_, event| {
        log.0.lock().unwrap().push(event);
        async {}
    });
    (client, heard)
}

fn opened(event: &EngineClientEvent) -> bool {
    matches!(event, EngineClientEvent::Open(_))
}

fn echo_on(transports: &[ClientTransport], upgrades: bool) {
    let rt = VirtualRuntime::new();
    let (server, _) = echo_server(&rt);
    let _listener = rt.listen("localhost", 3000, &server);
    let (client, heard) = client(&rt, transports);
    // Sent before the open packet: buffered, then sent in order.
    client.send_text("early").unwrap();
    client.connect();
    client.send_binary(&[1, 2, 3]).unwrap();
    rt.run_until_idle();
    let events = heard.take();
    let EngineClientEvent::Open(open) = &events[0] else {
        panic!("first event {:?}", events[0]);
    };
    assert_eq!((open.ping_interval, open.ping_timeout), (300, 200));
    assert_eq!(open.max_payload, 1_000_000);
    assert_eq!(client.id().as_deref(), Some(open.sid.as_str()));
    let mut rest: Vec<_> = events[1..].to_vec();
    let upgraded = rest.contains(&EngineClientEvent::Upgrade);
    rest.retain(|event| *event != EngineClientEvent::Upgrade);
    assert_eq!(
        rest,
        [
            EngineClientEvent::Message(Message::Text("early".into())),
            EngineClientEvent::Message(Message::Binary(Bytes::from_static(&[1, 2, 3]))),
        ]
    );
    assert_eq!(upgraded, upgrades);
    let expected = if upgrades || transports == [ClientTransport::WebSocket] {
        ClientTransport::WebSocket
    } else {
        ClientTransport::Polling
    };
    assert_eq!(client.transport(), Some(expected));
    // A minute of heartbeats keeps it open.
    rt.advance(Duration::from_secs(60));
    client.send(&Message::Text("later".into())).unwrap();
    rt.run_until_idle();
    assert_eq!(
        heard.take(),
        [EngineClientEvent::Message(Message::Text("later".into()))]
    );
    client.close();
    rt.run_until_idle();
    assert_eq!(
        heard.take(),
        [EngineClientEvent::Close(ClientCloseReason::ForcedClose)]
    );
    assert_eq!(client.send_text("gone"), Err(SendError::Closed));
    rt.advance(Duration::from_secs(5));
    assert_eq!(server.session_count(), 0, "the server saw the close");
}

#[test]
fn echo_over_websocket() {
    echo_on(&[ClientTransport::WebSocket], false);
}

#[test]
fn echo_over_polling() {
    echo_on(&[ClientTransport::Polling], false);
}

#[test]
fn echo_over_polling_then_the_upgrade() {
    echo_on(
        &[ClientTransport::Polling, ClientTransport::WebSocket],
        true,
    );
}

#[test]
fn the_server_closing_the_session_is_a_transport_close() {
    for transports in [
        &[ClientTransport::WebSocket][..],
        &[ClientTransport::Polling][..],
    ] {
        let rt = VirtualRuntime::new();
        let (server, sessions) = echo_server(&rt);
        let _listener = rt.listen("localhost", 3000, &server);
        let (client, heard) = client(&rt, transports);
        client.connect();
        rt.run_until_idle();
        assert!(heard.take().iter().any(opened));
        let session = sessions.lock().unwrap().pop().unwrap();
        session.close();
        rt.run_until_idle();
        assert_eq!(
            heard.take(),
            [EngineClientEvent::Close(ClientCloseReason::TransportClose)],
            "{transports:?}"
        );
        assert!(client.is_closed());
    }
}

#[test]
fn a_stalled_server_is_a_ping_timeout_at_ping_interval_plus_ping_timeout_without_reconnection() {
    let rt = VirtualRuntime::new();
    let (server, _) = echo_server(&rt);
    let listener = rt.listen("localhost", 3000, &server);
    let (client, heard) = client(&rt, &[ClientTransport::WebSocket]);
    client.connect();
    rt.run_until_idle();
    assert!(heard.take().iter().any(opened));
    // Pings at 300, 600, 900 ms keep it open; then the network stalls.
    rt.advance(Duration::from_millis(1000));
    assert!(client.is_open());
    listener.hold_connections(true);
    let last_ping = Duration::from_millis(900);
    rt.advance(last_ping + Duration::from_millis(500) - NS - rt.elapsed());
    assert!(client.is_open(), "not a nanosecond early");
    rt.advance(NS);
    assert_eq!(
        heard.take(),
        [EngineClientEvent::Close(ClientCloseReason::PingTimeout)]
    );
    rt.advance(Duration::from_secs(30));
    assert_eq!(
        listener.attempts().len(),
        1,
        "engine.io-client never reconnects"
    );
    assert!(heard.take().is_empty());
}

#[test]
fn no_server_is_an_error_then_a_transport_error_close() {
    let rt = VirtualRuntime::new();
    let (client, heard) = client(&rt, &[ClientTransport::WebSocket]);
    client.send_text("lost").unwrap();
    client.connect();
    rt.run_until_idle();
    assert_eq!(
        heard.take(),
        [
            EngineClientEvent::Error("websocket error"),
            EngineClientEvent::Close(ClientCloseReason::TransportError)
        ]
    );
    assert_eq!(client.send_text("late"), Err(SendError::Closed));
}

#[test]
fn dropping_the_client_closes_its_connection_and_ends_its_tasks() {
    let rt = VirtualRuntime::new();
    let (server, _) = echo_server(&rt);
    let _listener = rt.listen("localhost", 3000, &server);
    let (client, heard) = client(&rt, &[ClientTransport::WebSocket]);
    client.connect();
    rt.run_until_idle();
    assert!(heard.take().iter().any(opened));
    assert_eq!(server.session_count(), 1);
    let before = rt.live_tasks();
    drop(client);
    rt.advance(Duration::from_secs(1));
    assert_eq!(server.session_count(), 0);
    assert!(rt.live_tasks() < before);
}
