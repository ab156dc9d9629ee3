//! Connection state recovery with an external store (the Redis Streams
//! adapter's mode), on a simulated clock: the core keeps nothing, hands a
//! leaving socket's session out, asks for a returning client's session and
//! takes the driver's answer, and puts the offsets it is given on the
//! packets Node puts them on.

use std::time::Duration;

use bytestring::ByteString;
use sio_core::server::{
    BroadcastOptions, Config, ConnectRequestId, Event, PersistedSession, RecoveryConfig,
    RestoredSession, ServerError,
};

mod harness;

use harness::{config, json, Client, Harness};

fn external() -> Harness {
    let mut config: Config = config();
    config.connection_state_recovery = Some(RecoveryConfig::default());
    let mut h = Harness::new(config);
    h.server.use_external_recovery_store();
    assert!(h.server.external_recovery_store());
    h
}

fn connect_request(h: &mut Harness) -> (ConnectRequestId, bool) {
    match h.take_events().as_slice() {
        [Event::ConnectRequest {
            request,
            recovering,
            ..
        }] => (*request, *recovering),
        other => panic!("expected one connect request, got {other:?}"),
    }
}

/// Accepts `request`: the packets the client got (missed ones, then the
/// CONNECT reply's JSON).
fn accept(h: &mut Harness, client: &mut Client, request: ConnectRequestId) -> Vec<String> {
    let now = h.now;
    h.server.accept(now, request).expect("accept");
    h.drain();
    client.packets(h)
}

fn reply(packet: &str) -> serde_json::Value {
    serde_json::from_str(packet.strip_prefix('0').expect("CONNECT")).unwrap()
}

#[test]
fn offsets_are_the_callers_and_sessions_go_out() {
    let mut h = external();
    let mut client = h.ws_client();
    client.send(&mut h, "0");
    let (request, recovering) = connect_request(&mut h);
    assert!(!recovering);
    let packets = accept(&mut h, &mut client, request);
    let joined = reply(packets.last().unwrap());
    let sid = joined["sid"].as_str().unwrap().to_string();
    let pid = joined["pid"].as_str().expect("a pid").to_string();
    let socket = match h.take_events().as_slice() {
        [Event::Connected { socket, .. }] => *socket,
        other => panic!("{other:?}"),
    };
    h.server.join(socket, "room").unwrap();
    let now = h.now;
    // The caller's offset on a broadcast; none on a volatile one or a
    // direct emit (the external store logs only what crosses the stream).
    h.server.broadcast_at_offset(
        now,
        "/",
        &BroadcastOptions::default(),
        json(r#"["a"]"#),
        vec![],
        "17-3",
    );
    h.server
        .emit(now, socket, json(r#"["c"]"#), vec![], None)
        .unwrap();
    h.server.broadcast(
        now,
        "/",
        &BroadcastOptions::default(),
        json(r#"["d"]"#),
        vec![],
    );
    h.drain();
    assert_eq!(
        client.packets(&mut h),
        [r#"2["a","17-3"]"#, r#"2["c"]"#, r#"2["d"]"#]
    );
    // Volatile (sent only to a client with nothing queued): no offset.
    let volatile = BroadcastOptions {
        volatile: true,
        ..Default::default()
    };
    let now = h.now;
    h.server
        .broadcast_at_offset(now, "/", &volatile, json(r#"["b"]"#), vec![], "17-4");
    h.drain();
    assert_eq!(client.packets(&mut h), [r#"2["b"]"#]);
    // Cut: the session goes out, nothing is kept inside.
    let now = h.now;
    h.server.handle_conn_closed(now, client.conn);
    h.drain();
    let events = h.take_events();
    let session = events
        .iter()
        .find_map(|event| match event {
            Event::PersistSession { session } => Some(session.clone()),
            _ => None,
        })
        .expect("a session to persist");
    assert_eq!(&*session.sid, sid);
    assert_eq!(&*session.pid, pid);
    assert!(session.rooms.iter().any(|r| &**r == "room"));
    assert_eq!(h.server.recovery().unwrap().session_count(), 0);
    assert_eq!(h.server.recovery().unwrap().packet_count(), 0);
}

fn kept(sid: &str) -> PersistedSession {
    PersistedSession {
        sid: sid.into(),
        pid: "p".into(),
        // Taken from the request whatever the store says.
        nsp: "/elsewhere".into(),
        rooms: vec![sid.into(), "room".into()],
        data: Some(json(r#"{"user":1}"#)),
    }
}

#[test]
fn a_returning_client_is_asked_for_then_restored_with_what_it_missed() {
    let mut h = external();
    let mut client = h.ws_client();
    client.send(&mut h, r#"0{"pid":"p","offset":"17-3"}"#);
    let request = match h.take_events().as_slice() {
        [Event::RestoreRequest {
            request,
            nsp,
            pid,
            offset,
        }] => {
            assert_eq!((&**nsp, pid.as_str(), offset.as_str()), ("/", "p", "17-3"));
            *request
        }
        other => panic!("expected a restore request, got {other:?}"),
    };
    // Time passes while the driver asks Redis: nothing happens meanwhile.
    h.advance(Duration::from_millis(50));
    assert!(h.take_events().is_empty());
    let restored = RestoredSession {
        session: kept("old-sid"),
        missed: vec![
            (json(r#"["m",1,"17-4"]"#), vec![]),
            (json(r#"["m",2,"17-9"]"#), vec![]),
        ],
    };
    let now = h.now;
    h.server
        .answer_restore(now, request, Some(restored))
        .unwrap();
    // Answered once only.
    assert_eq!(
        h.server.answer_restore(now, request, None),
        Err(ServerError::UnknownRequest)
    );
    h.drain();
    let (request, recovering) = connect_request(&mut h);
    assert!(recovering);
    let packets = accept(&mut h, &mut client, request);
    assert_eq!(packets[..2], [r#"2["m",1,"17-4"]"#, r#"2["m",2,"17-9"]"#]);
    assert_eq!(reply(&packets[2])["sid"], "old-sid");
    let socket = match h.take_events().as_slice() {
        [Event::Connected {
            socket, recovered, ..
        }] => {
            assert!(*recovered);
            *socket
        }
        other => panic!("{other:?}"),
    };
    let rooms: Vec<ByteString> = h
        .server
        .rooms(socket)
        .unwrap()
        .map(ByteString::from)
        .collect();
    assert!(rooms.iter().any(|r| &**r == "room"));
    assert_eq!(h.server.socket_sid(socket), Some("old-sid"));
}

#[test]
fn nothing_found_or_hostile_fields_give_a_new_session() {
    let mut h = external();
    let mut client = h.ws_client();
    client.send(&mut h, r#"0{"pid":"p","offset":"17-3"}"#);
    let request = match h.take_events().as_slice() {
        [Event::RestoreRequest { request, .. }] => *request,
        other => panic!("{other:?}"),
    };
    let now = h.now;
    h.server.answer_restore(now, request, None).unwrap();
    h.drain();
    let (request, recovering) = connect_request(&mut h);
    assert!(!recovering);
    let packets = accept(&mut h, &mut client, request);
    assert_ne!(reply(packets.last().unwrap())["sid"], "old-sid");
    h.take_events();
    // A pid or offset too long to be ours is not looked up at all.
    let hostile = h.ws_client();
    let long = "x".repeat(65);
    hostile.send(&mut h, &format!(r#"0{{"pid":"{long}","offset":"1-0"}}"#));
    let (_, recovering) = connect_request(&mut h);
    assert!(!recovering);
    // An answer for a request that does not exist is refused.
    let now = h.now;
    assert_eq!(
        h.server.answer_restore(now, request, None),
        Err(ServerError::UnknownRequest)
    );
}
