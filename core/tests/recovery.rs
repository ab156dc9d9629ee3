//! Connection state recovery in the server core, on a simulated clock:
//! offsets on exactly the packets Node puts them on, kept sessions, replay
//! order, rooms and `except`, the window, the byte cap, repeated recovery.

use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use proptest::prelude::*;

use sio_core::packet::RawJson;
use sio_core::server::{
    BroadcastOptions, Config, DisconnectReason, Event, PersistedSession, RecoveryConfig,
    SessionStore, SocketId,
};
use sio_core::Instant;

mod harness;

use harness::{config, json, Client, Harness, Recv};

// ----- harness -----

impl Client {
    /// CONNECT to "/" with `auth`; returns whether the request is a recovery.
    fn ask(&mut self, h: &mut Harness, auth: &str) -> (sio_core::server::ConnectRequestId, bool) {
        self.send(h, &format!("0{auth}"));
        match h.take_events().as_slice() {
            [Event::ConnectRequest {
                request,
                recovering,
                ..
            }] => (*request, *recovering),
            other => panic!("expected one connect request, got {other:?}"),
        }
    }

    /// CONNECT to "/" with `auth`, accepted: the socket, whether it
    /// recovered, and the packets before the CONNECT reply.
    fn join_with(&mut self, h: &mut Harness, auth: &str) -> Joined {
        let (request, recovering) = self.ask(h, auth);
        let now = h.now;
        let socket = h.server.accept(now, request).expect("accept");
        h.drain();
        let mut packets = self.packets(h);
        let reply = packets.pop().expect("connect reply");
        let recovered = match h.take_events().as_slice() {
            [Event::Connected { recovered, .. }] => *recovered,
            other => panic!("expected Connected, got {other:?}"),
        };
        assert_eq!(recovered, recovering);
        assert_eq!(h.server.socket_recovered(socket), recovered);
        let reply: serde_json::Value =
            serde_json::from_str(reply.strip_prefix('0').expect("CONNECT")).unwrap();
        let sid = reply["sid"].as_str().unwrap().to_string();
        assert_eq!(h.server.socket_sid(socket), Some(&*sid));
        Joined {
            socket,
            sid,
            pid: reply["pid"].as_str().map(str::to_string),
            recovered,
            missed: packets,
        }
    }
}

struct Joined {
    socket: SocketId,
    sid: String,
    pid: Option<String>,
    recovered: bool,
    missed: Vec<String>,
}

fn recovery_config(window: Duration) -> Config {
    let mut config = config();
    let mut recovery = RecoveryConfig::default();
    recovery.max_disconnection_duration = window;
    config.connection_state_recovery = Some(recovery);
    config
}

const WINDOW: Duration = Duration::from_secs(120);

/// An event's data and its offset (the last element), from `2[...]`.
fn event_offset(packet: &str) -> (serde_json::Value, Option<String>) {
    let data: serde_json::Value =
        serde_json::from_str(packet.strip_prefix('2').expect("EVENT")).unwrap();
    let last = data.as_array().unwrap().last().cloned();
    (
        data.clone(),
        last.and_then(|v| v.as_str().map(str::to_string)),
    )
}

fn emit(h: &mut Harness, socket: SocketId, data: &str) {
    let now = h.now;
    h.server
        .emit(now, socket, json(data), vec![], None)
        .unwrap();
    h.drain();
}

fn broadcast(h: &mut Harness, opts: BroadcastOptions, data: &str) {
    let now = h.now;
    h.server.broadcast(now, "/", &opts, json(data), vec![]);
    h.drain();
}

fn to(rooms: &[&str]) -> BroadcastOptions {
    BroadcastOptions {
        rooms: rooms.iter().map(|r| ByteString::from(*r)).collect(),
        ..Default::default()
    }
}

/// A connected client that has seen one event (so it has an offset).
fn connected_with_offset(h: &mut Harness) -> (Client, Joined, String) {
    let mut client = h.ws_client();
    let joined = client.join_with(h, "");
    emit(h, joined.socket, r#"["hello"]"#);
    let packets = client.packets(h);
    let (_, offset) = event_offset(&packets[0]);
    (client, joined, offset.expect("an offset"))
}

/// Cuts the client's transport: the server sees "transport close".
fn cut(h: &mut Harness, client: &Client) -> Vec<Event> {
    let now = h.now;
    h.server.handle_conn_closed(now, client.conn);
    h.drain();
    h.take_events()
}

fn recovery_auth(pid: &str, offset: &str) -> String {
    format!(r#"{{"pid":"{pid}","offset":"{offset}"}}"#)
}

// ----- offsets -----

#[test]
fn off_by_default_no_pid_no_offsets() {
    let mut h = Harness::new(config());
    let mut client = h.ws_client();
    let joined = client.join_with(&mut h, "");
    assert_eq!(joined.pid, None);
    emit(&mut h, joined.socket, r#"["a",1]"#);
    assert_eq!(client.packets(&mut h), vec![r#"2["a",1]"#]);
    assert!(h.server.recovery().is_none());
}

#[test]
fn offsets_on_plain_events_only() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let mut client = h.ws_client();
    let joined = client.join_with(&mut h, "");
    assert!(joined.pid.is_some());
    assert_ne!(joined.pid.as_deref(), Some(&*joined.sid));
    // Direct emit: offset appended.
    emit(&mut h, joined.socket, r#"["a",1]"#);
    let (data, offset) = event_offset(&client.packets(&mut h)[0]);
    assert_eq!(data.as_array().unwrap().len(), 3);
    let first = offset.unwrap();
    // Broadcast: offset appended, a later one.
    broadcast(&mut h, BroadcastOptions::default(), r#"["b"]"#);
    let (_, second) = event_offset(&client.packets(&mut h)[0]);
    assert_ne!(second.as_deref(), Some(&*first));
    // With an ack: none.
    let now = h.now;
    h.server
        .emit(now, joined.socket, json(r#"["c"]"#), vec![], Some(WINDOW))
        .unwrap();
    h.drain();
    assert_eq!(client.packets(&mut h), vec![r#"20["c"]"#]);
    let now = h.now;
    h.server.broadcast_with_ack(
        now,
        "/",
        &BroadcastOptions::default(),
        json(r#"["d"]"#),
        vec![],
        WINDOW,
    );
    h.drain();
    assert_eq!(client.packets(&mut h), vec![r#"21["d"]"#]);
    // Volatile: none.
    broadcast(
        &mut h,
        BroadcastOptions {
            volatile: true,
            ..Default::default()
        },
        r#"["e"]"#,
    );
    assert_eq!(client.packets(&mut h), vec![r#"2["e"]"#]);
    // Binary: the offset follows the placeholder.
    let now = h.now;
    h.server
        .emit(
            now,
            joined.socket,
            json(r#"["f",{"_placeholder":true,"num":0}]"#),
            vec![Bytes::from_static(b"\x01")],
            None,
        )
        .unwrap();
    h.drain();
    let recv = client.recv(&mut h);
    match recv.as_slice() {
        [Recv::Text(head), Recv::Binary(_)] => {
            assert!(
                head.starts_with(r#"451-["f",{"_placeholder":true,"num":0},""#),
                "{head}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Only the plain ones were logged: a, b, f.
    assert_eq!(h.server.recovery().unwrap().packet_count(), 3);
}

// ----- recovery -----

#[test]
fn recovers_id_rooms_data_and_missed_packets_in_order() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (client, joined, offset) = connected_with_offset(&mut h);
    h.server.join(joined.socket, "room").unwrap();
    h.server.join(joined.socket, "muted").unwrap();
    h.server
        .set_socket_data(joined.socket, Some(json(r#"{"user":1}"#)))
        .unwrap();
    let (mut other, other_joined) = {
        let mut c = h.ws_client();
        let j = c.join_with(&mut h, "");
        (c, j)
    };
    match cut(&mut h, &client).as_slice() {
        [Event::Disconnect { reason, .. }] => assert_eq!(*reason, DisconnectReason::TransportClose),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.server.recovery().unwrap().session_count(), 1);
    // While away: to its own room, to its room, to all, to a room it is
    // not in, to all but "muted", to all but the other socket.
    broadcast(&mut h, to(&[&joined.sid]), r#"["m",1]"#);
    broadcast(&mut h, to(&["room"]), r#"["m",2]"#);
    broadcast(&mut h, BroadcastOptions::default(), r#"["m",3]"#);
    broadcast(&mut h, to(&["elsewhere"]), r#"["x"]"#);
    broadcast(
        &mut h,
        BroadcastOptions {
            except: vec!["muted".into()],
            ..Default::default()
        },
        r#"["x"]"#,
    );
    broadcast(
        &mut h,
        BroadcastOptions {
            except_sockets: vec![other_joined.socket],
            ..Default::default()
        },
        r#"["m",4]"#,
    );
    broadcast(
        &mut h,
        BroadcastOptions {
            volatile: true,
            ..Default::default()
        },
        r#"["x"]"#,
    );
    other.packets(&mut h);
    h.advance(Duration::from_secs(60));

    let mut back = h.ws_client();
    let pid = joined.pid.clone().unwrap();
    let rejoined = back.join_with(&mut h, &recovery_auth(&pid, &offset));
    assert!(rejoined.recovered);
    assert_eq!(rejoined.sid, joined.sid);
    assert_eq!(rejoined.pid.as_deref(), Some(&*pid));
    let missed: Vec<serde_json::Value> = rejoined
        .missed
        .iter()
        .map(|p| {
            let (data, _) = event_offset(p);
            let a = data.as_array().unwrap();
            serde_json::Value::Array(a[..a.len() - 1].to_vec())
        })
        .collect();
    assert_eq!(
        missed,
        (1..=4)
            .map(|i| serde_json::json!(["m", i]))
            .collect::<Vec<_>>()
    );
    let mut rooms: Vec<&str> = h.server.rooms(rejoined.socket).unwrap().collect();
    rooms.sort();
    let mut expected = vec!["muted", "room", &*joined.sid];
    expected.sort();
    assert_eq!(rooms, expected);
    assert_eq!(
        h.server.socket_data(rejoined.socket).map(|d| d.as_str()),
        Some(r#"{"user":1}"#)
    );
    assert_eq!(h.server.room_members("/", "room"), vec![rejoined.socket]);
    assert_eq!(h.server.recovery().unwrap().session_count(), 0);
}

#[test]
fn never_restored_twice() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (client, joined, offset) = connected_with_offset(&mut h);
    cut(&mut h, &client);
    let auth = recovery_auth(joined.pid.as_deref().unwrap(), &offset);
    let mut first = h.ws_client();
    let (_, recovering) = first.ask(&mut h, &auth);
    assert!(recovering);
    let mut second = h.ws_client();
    let again = second.join_with(&mut h, &auth);
    assert!(!again.recovered);
    assert_ne!(again.sid, joined.sid);
}

#[test]
fn repeated_recovery_on_one_socket() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (mut client, mut joined, mut offset) = connected_with_offset(&mut h);
    let sid = joined.sid.clone();
    for round in 0..3 {
        cut(&mut h, &client);
        broadcast(&mut h, to(&[&sid]), &format!(r#"["round",{round}]"#));
        client = h.ws_client();
        let pid = joined.pid.clone().unwrap();
        joined = client.join_with(&mut h, &recovery_auth(&pid, &offset));
        assert!(joined.recovered, "round {round}");
        assert_eq!(joined.sid, sid);
        assert_eq!(joined.missed.len(), 1);
        let (data, last) = event_offset(&joined.missed[0]);
        assert_eq!(data[1], round);
        offset = last.unwrap();
    }
}

#[test]
fn unknown_pid_offset_or_shape_gives_a_new_session() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (client, joined, offset) = connected_with_offset(&mut h);
    cut(&mut h, &client);
    let pid = joined.pid.clone().unwrap();
    for auth in [
        recovery_auth("nope", &offset),
        recovery_auth(&pid, "999999"),
        recovery_auth(&pid, "not-an-offset"),
        recovery_auth(&pid, &format!("0{offset}")),
        format!(r#"{{"pid":"{pid}","offset":1}}"#),
        format!(r#"{{"pid":"{pid}"}}"#),
        r#"{"pid":null,"offset":null}"#.to_string(),
        r#"{}"#.to_string(),
    ] {
        let mut c = h.ws_client();
        let j = c.join_with(&mut h, &auth);
        assert!(!j.recovered, "{auth}");
        assert_ne!(j.sid, joined.sid);
    }
    // None of those consumed it.
    let mut c = h.ws_client();
    assert!(c.join_with(&mut h, &recovery_auth(&pid, &offset)).recovered);
}

#[test]
fn namespace_leave_and_parse_error_keep_nothing() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (client, joined, _) = connected_with_offset(&mut h);
    client.send(&mut h, "1");
    h.take_events();
    assert_eq!(h.server.recovery().unwrap().session_count(), 0);
    let now = h.now;
    assert!(h.server.disconnect(now, joined.socket).is_err());
    let (client, _, _) = connected_with_offset(&mut h);
    client.send(&mut h, "9garbage");
    h.take_events();
    assert_eq!(h.server.recovery().unwrap().session_count(), 0);
    let (_, joined, _) = connected_with_offset(&mut h);
    let now = h.now;
    h.server.disconnect(now, joined.socket).unwrap();
    h.drain();
    h.take_events();
    assert_eq!(h.server.recovery().unwrap().session_count(), 0);
}

#[test]
fn recoverable_reasons_are_nodes() {
    use DisconnectReason::*;
    for reason in [
        TransportError,
        TransportClose,
        ForcedClose,
        PingTimeout,
        ServerShutdown,
        ForcedServerClose,
    ] {
        assert!(reason.is_recoverable(), "{reason}");
    }
    for reason in [
        ServerNamespaceDisconnect,
        ClientNamespaceDisconnect,
        ParseError,
    ] {
        assert!(!reason.is_recoverable(), "{reason}");
    }
}

#[test]
fn shutdown_keeps_sessions() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (_client, _joined, _) = connected_with_offset(&mut h);
    let now = h.now;
    h.server.shutdown(now);
    h.drain();
    assert_eq!(h.server.recovery().unwrap().session_count(), 1);
}

// ----- the window -----

fn away_for(d: Duration) -> bool {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (client, joined, offset) = connected_with_offset(&mut h);
    cut(&mut h, &client);
    h.advance(d);
    let mut back = h.ws_client();
    back.join_with(
        &mut h,
        &recovery_auth(joined.pid.as_deref().unwrap(), &offset),
    )
    .recovered
}

#[test]
fn kept_for_exactly_the_window() {
    assert!(away_for(WINDOW));
    assert!(!away_for(WINDOW + Duration::from_millis(1)));
}

#[test]
fn expiry_frees_everything_on_the_timer() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (client, _, _) = connected_with_offset(&mut h);
    cut(&mut h, &client);
    let store = h.server.recovery().unwrap();
    assert_eq!((store.session_count(), store.packet_count()), (1, 1));
    assert!(store.bytes() > 0);
    // The timer alone (no input) prunes just after the window.
    h.advance(WINDOW);
    assert_eq!(h.server.recovery().unwrap().session_count(), 1);
    h.advance(Duration::from_millis(1));
    let store = h.server.recovery().unwrap();
    assert_eq!(
        (store.session_count(), store.packet_count(), store.bytes()),
        (0, 0, 0)
    );
    assert_eq!(h.timeout, None);
}

#[test]
fn middleware_gap_loses_nothing() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (client, joined, offset) = connected_with_offset(&mut h);
    h.server.join(joined.socket, "room").unwrap();
    cut(&mut h, &client);
    broadcast(&mut h, to(&["room"]), r#"["before"]"#);
    let mut back = h.ws_client();
    let (request, recovering) = back.ask(
        &mut h,
        &recovery_auth(joined.pid.as_deref().unwrap(), &offset),
    );
    assert!(recovering);
    // Sent while the verdict is pending: replayed too.
    broadcast(&mut h, to(&["room"]), r#"["during"]"#);
    let now = h.now;
    h.server.accept(now, request).unwrap();
    h.drain();
    let packets = back.packets(&mut h);
    assert_eq!(packets.len(), 3);
    assert!(packets[0].starts_with(r#"2["before","#));
    assert!(packets[1].starts_with(r#"2["during","#));
    assert!(packets[2].starts_with(&format!(r#"0{{"sid":"{}""#, joined.sid)));
}

// ----- the byte cap -----

#[test]
fn byte_cap_evicts_oldest_and_recovery_fails_whole() {
    let mut config = recovery_config(WINDOW);
    let mut recovery = config.connection_state_recovery.unwrap();
    recovery.max_bytes = 4096;
    config.connection_state_recovery = Some(recovery);
    let mut h = Harness::new(config);
    let (client, joined, offset) = connected_with_offset(&mut h);
    cut(&mut h, &client);
    let big = format!(r#"["big","{}"]"#, "x".repeat(500));
    for _ in 0..20 {
        broadcast(&mut h, BroadcastOptions::default(), &big);
        assert!(h.server.recovery().unwrap().bytes() <= 4096);
    }
    let mut back = h.ws_client();
    let j = back.join_with(
        &mut h,
        &recovery_auth(joined.pid.as_deref().unwrap(), &offset),
    );
    assert!(!j.recovered);
    assert!(j.missed.is_empty());
}

// ----- the store alone -----

#[test]
fn store_restore_is_nodes_restore_session() {
    let mut store = SessionStore::new(RecoveryConfig::default());
    let t0 = Instant::ZERO;
    let first = store.log(t0, "/".into(), vec![], vec![], &json(r#"["a"]"#), vec![]);
    let offset = first.as_str().rsplit('"').nth(1).unwrap().to_string();
    store.log(
        t0,
        "/".into(),
        vec!["r".into()],
        vec![],
        &json(r#"["b"]"#),
        vec![],
    );
    store.log(
        t0,
        "/other".into(),
        vec![],
        vec![],
        &json(r#"["c"]"#),
        vec![],
    );
    store.log(
        t0,
        "/".into(),
        vec![],
        vec!["r".into()],
        &json(r#"["d"]"#),
        vec![],
    );
    store.log(t0, "/".into(), vec![], vec![], &json(r#"[]"#), vec![]);
    store.persist(
        t0,
        PersistedSession {
            sid: "s".into(),
            pid: "p".into(),
            nsp: "/".into(),
            rooms: vec!["s".into(), "r".into()],
            data: None,
        },
    );
    assert!(store.restore(t0, "/other", "p", &offset).is_none());
    let restored = store.restore(t0, "/", "p", &offset).unwrap();
    let data: Vec<&str> = restored.missed.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(data, [r#"["b","1"]"#, r#"["4"]"#]);
    assert!(store.restore(t0, "/", "p", &offset).is_none());
}

proptest! {
    /// A client that reconnects within the window sees every non-volatile
    /// event addressed to it exactly once, in order, whatever was sent
    /// before, during and after the gap.
    #[test]
    fn sees_every_event_exactly_once(
        before in proptest::collection::vec((0u8..4, any::<bool>()), 1..12),
        during in proptest::collection::vec((0u8..4, any::<bool>()), 0..24),
        gap_ms in 0u64..120_000,
    ) {
        let mut h = Harness::new(recovery_config(WINDOW));
        let mut client = h.ws_client();
        let joined = client.join_with(&mut h, "");
        h.server.join(joined.socket, "mine").unwrap();
        let mut expected = Vec::new();
        let mut seen = Vec::new();
        let mut n = 0;
        let mut send = |h: &mut Harness, target: u8, volatile: bool, online: bool, expected: &mut Vec<i32>| {
            n += 1;
            let opts = match target {
                0 => BroadcastOptions::default(),
                1 => to(&["mine"]),
                2 => to(&["theirs"]),
                _ => BroadcastOptions { except: vec!["mine".into()], ..Default::default() },
            };
            let reaches = target <= 1 && (online || !volatile);
            broadcast(h, BroadcastOptions { volatile, ..opts }, &format!(r#"["n",{n}]"#));
            if reaches { expected.push(n); }
        };
        // Always one plain event first, so the client has an offset.
        send(&mut h, 0, false, true, &mut expected);
        for (target, volatile) in before {
            send(&mut h, target, volatile, true, &mut expected);
        }
        let mut offset = None;
        for p in client.packets(&mut h) {
            let (data, last) = event_offset(&p);
            seen.push(data[1].as_i64().unwrap() as i32);
            if last.is_some() { offset = last; }
        }
        cut(&mut h, &client);
        for (target, volatile) in during {
            send(&mut h, target, volatile, false, &mut expected);
        }
        h.advance(Duration::from_millis(gap_ms));
        let mut back = h.ws_client();
        let rejoined = back.join_with(&mut h, &recovery_auth(joined.pid.as_deref().unwrap(), &offset.unwrap()));
        prop_assert!(rejoined.recovered);
        for p in &rejoined.missed {
            let (data, _) = event_offset(p);
            seen.push(data[1].as_i64().unwrap() as i32);
        }
        prop_assert_eq!(seen, expected);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(".{0,4}", inner, 0..3)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// What the server appends, the client takes off: the same arguments
    /// and the same offset, whatever the arguments are.
    #[test]
    fn offset_append_and_strip_round_trip(
        name in ".{0,6}",
        args in proptest::collection::vec(json_value(), 0..4),
    ) {
        let mut array = vec![serde_json::Value::from(name)];
        array.extend(args);
        let data = RawJson::from_serialize(&array).unwrap();
        let mut store = SessionStore::new(RecoveryConfig::default());
        let sent = store.log(Instant::ZERO, "/".into(), vec![], vec![], &data, vec![]);
        let offset = store.packets().last().unwrap().offset.clone();
        let (args, got) = sent.split_last_string().expect("an offset");
        prop_assert_eq!(got, offset);
        let back: serde_json::Value = serde_json::from_str(args.as_str()).unwrap();
        prop_assert_eq!(back, serde_json::Value::from(array));
    }
}

#[test]
fn refused_or_abandoned_recovery_keeps_the_session_for_a_retry() {
    let mut h = Harness::new(recovery_config(WINDOW));
    let (client, joined, offset) = connected_with_offset(&mut h);
    cut(&mut h, &client);
    let auth = recovery_auth(joined.pid.as_deref().unwrap(), &offset);
    // Refused by the middleware: still kept.
    let mut first = h.ws_client();
    let (request, recovering) = first.ask(&mut h, &auth);
    assert!(recovering);
    let now = h.now;
    h.server.reject(now, request, "not now", None).unwrap();
    h.drain();
    assert_eq!(h.server.recovery().unwrap().session_count(), 1);
    // Its connection gone before the verdict: still kept.
    let mut second = h.ws_client();
    let (_, recovering) = second.ask(&mut h, &auth);
    assert!(recovering);
    cut(&mut h, &second);
    assert_eq!(h.server.recovery().unwrap().session_count(), 1);
    // Still only within the window counted from the first disconnect.
    h.advance(WINDOW + Duration::from_millis(1));
    let mut late = h.ws_client();
    assert!(!late.join_with(&mut h, &auth).recovered);
    assert_eq!(h.server.recovery().unwrap().session_count(), 0);
}
