//! Several core servers as the shards of one process, on a simulated
//! clock and without sockets: the test plays the driver. Every number a
//! shard hands out names it; a session id routes a polling request to its
//! shard and no other shard knows it; a kept session comes back through
//! another shard (asked for with `RestoreRequest`, taken with
//! `take_kept_session`, answered with `answer_restore`) with every packet
//! it missed exactly once, in order; an unsharded server is unchanged.

use std::time::Duration;

use bytestring::ByteString;

use sio_core::engine::{shard_of_number, shard_of_sid, SessionId, Shard};
use sio_core::server::{
    BroadcastOptions, Config, ConnectRequestId, Event, RecoveryConfig, Server, SocketId,
};
use sio_core::wire::http::{Method, Response};

mod harness;

use harness::{config, json, request, Client, Harness};

const UNKNOWN_SID: &str = r#"{"code":1,"message":"Session ID unknown"}"#;

/// Shard `index` of `count`, seeded apart from the others (as a driver
/// seeds each shard from its own randomness).
fn shard(index: usize, count: usize, config: Config) -> Harness {
    let mut h = Harness::new(config.clone());
    h.server = Server::new(config, [index as u8 + 1; 32]);
    h.server
        .set_shard(Shard::new(index, count).expect("a shard"));
    h.drain();
    h
}

fn shards(count: usize, config: Config) -> Vec<Harness> {
    (0..count)
        .map(|i| shard(i, count, config.clone()))
        .collect()
}

fn recovery_config() -> Config {
    let mut config = config();
    config.connection_state_recovery = Some(RecoveryConfig::default());
    config
}

fn engine_sid(open: &str) -> String {
    let open: serde_json::Value = serde_json::from_str(open).unwrap();
    open["sid"].as_str().expect("a sid").to_string()
}

/// Opens a polling session: its Engine.IO session id.
fn open_polling(h: &mut Harness) -> String {
    let conn = h.conn();
    let req = request(
        Method::Get,
        "/socket.io/?EIO=4&transport=polling",
        vec![],
        b"",
    );
    h.server.handle_request(h.now, conn, req);
    h.drain();
    let response = h.responses.remove(&conn).expect("answered");
    assert_eq!(response.status, 200);
    let body = String::from_utf8(response.body.to_vec()).unwrap();
    engine_sid(body.strip_prefix('0').expect("open"))
}

fn polling(h: &mut Harness, method: Method, sid: &str, body: &[u8]) -> Response {
    let conn = h.conn();
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    h.server
        .handle_request(h.now, conn, request(method, &target, vec![], body));
    h.drain();
    h.responses.remove(&conn).expect("answered")
}

fn connect_request(h: &mut Harness) -> (ConnectRequestId, SessionId, bool) {
    match h.take_events().as_slice() {
        [Event::ConnectRequest {
            request,
            session,
            recovering,
            ..
        }] => (*request, *session, *recovering),
        other => panic!("expected one connect request, got {other:?}"),
    }
}

struct Joined {
    socket: SocketId,
    sid: String,
    pid: Option<String>,
    recovered: bool,
    /// The packets before the CONNECT reply.
    missed: Vec<String>,
}

/// Accepts `request` for `client`.
fn accept(h: &mut Harness, client: &mut Client, request: ConnectRequestId) -> Joined {
    let now = h.now;
    let socket = h.server.accept(now, request).expect("accept");
    h.drain();
    let mut missed = client.packets(h);
    let reply = missed.pop().expect("the CONNECT reply");
    let reply: serde_json::Value =
        serde_json::from_str(reply.strip_prefix('0').expect("CONNECT")).unwrap();
    let recovered = match h.take_events().as_slice() {
        [Event::Connected {
            socket: s,
            recovered,
            ..
        }] => {
            assert_eq!(*s, socket);
            *recovered
        }
        other => panic!("expected Connected, got {other:?}"),
    };
    let sid = reply["sid"].as_str().unwrap().to_string();
    assert_eq!(h.server.socket_sid(socket), Some(&*sid));
    Joined {
        socket,
        sid,
        pid: reply["pid"].as_str().map(str::to_string),
        recovered,
        missed,
    }
}

/// A socket on "/" of shard `h`, with no recovery fields.
fn join(h: &mut Harness) -> (Client, Joined) {
    let (mut client, _) = h.ws_client_with_sid();
    client.send(h, "0");
    let (request, _, recovering) = connect_request(h);
    assert!(!recovering);
    let joined = accept(h, &mut client, request);
    (client, joined)
}

/// The driver's broadcast: every shard encodes and logs it.
fn broadcast_all(shards: &mut [Harness], opts: &BroadcastOptions, data: &str) {
    for h in shards {
        let now = h.now;
        h.server.broadcast(now, "/", opts, json(data), vec![]);
        h.drain();
    }
}

fn to(room: &str) -> BroadcastOptions {
    BroadcastOptions {
        rooms: vec![ByteString::from(room)],
        ..Default::default()
    }
}

/// `2[...,"offset"]`: the data without the offset, and the offset.
fn event(packet: &str) -> (serde_json::Value, String) {
    let data: serde_json::Value =
        serde_json::from_str(packet.strip_prefix('2').expect("an EVENT")).unwrap();
    let mut items = data.as_array().unwrap().clone();
    let offset = items
        .pop()
        .unwrap()
        .as_str()
        .expect("an offset")
        .to_string();
    (serde_json::Value::Array(items), offset)
}

fn events(packets: &[String]) -> Vec<serde_json::Value> {
    packets.iter().map(|p| event(p).0).collect()
}

fn recovery_auth(pid: &str, offset: &str) -> String {
    format!(r#"0{{"pid":"{pid}","offset":"{offset}"}}"#)
}

/// A direct emit of `["direct"]` to `socket` (logged only in its own shard).
fn emit_direct(h: &mut Harness, socket: SocketId) {
    let now = h.now;
    h.server
        .emit(now, socket, json(r#"["direct"]"#), vec![], None)
        .unwrap();
    h.drain();
}

/// Cuts the client's transport ("transport close": the session is kept).
fn cut(h: &mut Harness, client: &Client) {
    let now = h.now;
    h.server.handle_conn_closed(now, client.conn);
    h.drain();
    h.take_events();
}

fn misses(h: &Harness) -> u64 {
    h.server.recovery().expect("recovery on").misses()
}

fn kept(h: &Harness) -> usize {
    h.server.recovery().expect("recovery on").session_count()
}

/// The driver's side of a `RestoreRequest` raised by shard `asking`: asks
/// every other shard, then answers with what it found.
fn restore_across(shards: &mut [Harness], asking: usize) -> bool {
    let (request, nsp, pid, offset) = match shards[asking].take_events().as_slice() {
        [Event::RestoreRequest {
            request,
            nsp,
            pid,
            offset,
        }] => (*request, nsp.clone(), pid.clone(), offset.clone()),
        other => panic!("expected a restore request, got {other:?}"),
    };
    let mut found = None;
    for (i, h) in shards.iter_mut().enumerate() {
        if i == asking {
            continue;
        }
        let now = h.now;
        if let Some(session) = h.server.take_kept_session(now, &nsp, &pid, &offset) {
            assert!(found.is_none(), "two shards kept {pid}");
            found = Some(session);
        }
    }
    let recovering = found.is_some();
    let h = &mut shards[asking];
    let now = h.now;
    h.server
        .answer_restore(now, request, found)
        .expect("answer");
    h.drain();
    recovering
}

fn advance_all(shards: &mut [Harness], d: Duration) {
    for h in shards {
        h.advance(d);
    }
}

// ----- numbering -----

#[test]
fn every_number_and_session_id_names_its_shard() {
    for count in [2, 3] {
        let mut all = shards(count, config());
        for (index, h) in all.iter_mut().enumerate() {
            for _ in 0..20 {
                let (mut client, sid) = h.ws_client_with_sid();
                assert_eq!(shard_of_sid(&sid, count), index, "{sid}");
                client.send(h, "0");
                let (request, session, _) = connect_request(h);
                assert_eq!(shard_of_number(request.as_u64(), count), index);
                assert_eq!(shard_of_number(session.as_u64(), count), index);
                let joined = accept(h, &mut client, request);
                let socket = joined.socket.as_u64();
                assert_eq!(shard_of_number(socket >> 20, count), index);
                assert_eq!(socket >> 20, session.as_u64());
            }
            for _ in 0..20 {
                let sid = open_polling(h);
                assert_eq!(shard_of_sid(&sid, count), index, "{sid}");
                let ok = polling(h, Method::Post, &sid, b"40");
                assert_eq!(&ok.body[..], b"ok");
                let (request, session, _) = connect_request(h);
                assert_eq!(shard_of_number(request.as_u64(), count), index);
                assert_eq!(shard_of_number(session.as_u64(), count), index);
                let now = h.now;
                let socket = h.server.accept(now, request).unwrap().as_u64();
                h.drain();
                h.take_events();
                assert_eq!(shard_of_number(socket >> 20, count), index);
            }
        }
    }
}

#[test]
fn a_session_id_fed_to_another_shard_is_unknown() {
    let mut all = shards(3, config());
    let sid = open_polling(&mut all[1]);
    for other in [0, 2] {
        for (method, body) in [(Method::Get, &b""[..]), (Method::Post, &b"40"[..])] {
            let response = polling(&mut all[other], method, &sid, body);
            assert_eq!(response.status, 400);
            assert_eq!(&response.body[..], UNKNOWN_SID.as_bytes());
        }
        // Node's `connection_error`, twice, and nothing else.
        let events = all[other].take_events();
        assert_eq!(events.len(), 2);
        for event in events {
            match event {
                Event::ConnectionError(error) => assert_eq!(error.code, 1),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(all[other].server.engine().session_count(), 0);
    }
    // Its own shard still serves it.
    let ok = polling(&mut all[1], Method::Post, &sid, b"40");
    assert_eq!(&ok.body[..], b"ok");
    connect_request(&mut all[1]);
}

// ----- recovery across shards -----

#[test]
fn a_session_kept_in_one_shard_comes_back_through_another() {
    let mut all = shards(3, recovery_config());
    let (mut client, joined) = join(&mut all[0]);
    let pid = joined.pid.clone().expect("a pid");
    all[0].server.join(joined.socket, "room").unwrap();
    // A direct emit logs in shard 0 only: the shards' logs differ.
    emit_direct(&mut all[0], joined.socket);
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",0]"#);
    let seen = client.packets(&mut all[0]);
    assert_eq!(events(&seen), [json_value(r#"["direct"]"#), m(0)]);
    let (_, offset) = event(&seen[1]);
    // Offsets name their shard too.
    for (i, h) in all.iter().enumerate() {
        for packet in h.server.recovery().unwrap().packets() {
            let seq: u64 = packet.offset.parse().unwrap();
            assert_eq!(shard_of_number(seq, 3), i);
        }
    }
    cut(&mut all[0], &client);
    assert_eq!(kept(&all[0]), 1);
    // While away: to all, to its room, to a room it is not in.
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",1]"#);
    broadcast_all(&mut all, &to("room"), r#"["m",2]"#);
    broadcast_all(&mut all, &to("elsewhere"), r#"["x"]"#);
    advance_all(&mut all, Duration::from_secs(30));

    // Back through shard 1, which does not keep it.
    let (mut back, _) = all[1].ws_client_with_sid();
    back.send(&mut all[1], &recovery_auth(&pid, &offset));
    assert!(restore_across(&mut all, 1));
    assert_eq!(kept(&all[0]), 0, "taken out of shard 0");
    let (request, _, recovering) = connect_request(&mut all[1]);
    assert!(recovering);
    // Between the answer and the accept (middleware runs): every shard
    // logs these; shard 1 must add them.
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",3]"#);
    broadcast_all(&mut all, &to("room"), r#"["m",4]"#);
    broadcast_all(&mut all, &to("elsewhere"), r#"["x"]"#);
    let rejoined = accept(&mut all[1], &mut back, request);
    assert!(rejoined.recovered);
    assert_eq!(rejoined.sid, joined.sid);
    assert_eq!(rejoined.pid.as_deref(), Some(&*pid));
    assert_eq!(events(&rejoined.missed), (1..=4).map(m).collect::<Vec<_>>());
    // Every offset it now holds is one of shard 1's log, in log order: a
    // later recovery from shard 1 reads them right.
    let logged: Vec<String> = all[1]
        .server
        .recovery()
        .unwrap()
        .packets()
        .map(|p| p.offset.to_string())
        .collect();
    let at: Vec<usize> = rejoined
        .missed
        .iter()
        .map(|p| {
            logged
                .iter()
                .position(|o| *o == event(p).1)
                .expect("logged")
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    let mut rooms: Vec<&str> = all[1].server.rooms(rejoined.socket).unwrap().collect();
    rooms.sort();
    let mut expected = vec!["room", &*joined.sid];
    expected.sort();
    assert_eq!(rooms, expected);
    // Later broadcasts reach it once, through shard 1 only.
    broadcast_all(&mut all, &to("room"), r#"["m",5]"#);
    assert_eq!(events(&back.packets(&mut all[1])), [m(5)]);
    assert!(client.recv(&mut all[0]).is_empty());
    assert_eq!(all.iter().map(misses).sum::<u64>(), 0);
}

#[test]
fn recovered_through_another_shard_then_again_where_it_now_lives() {
    // The client's last offset is one shard 0 gave; its session now lives
    // in shard 1, whose log numbers packets its own way.
    let mut all = shards(2, recovery_config());
    let (mut client, joined) = join(&mut all[0]);
    let pid = joined.pid.clone().unwrap();
    for _ in 0..3 {
        emit_direct(&mut all[0], joined.socket);
    }
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",0]"#);
    let (_, offset) = event(client.packets(&mut all[0]).last().unwrap());
    cut(&mut all[0], &client);
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",1]"#);
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",2]"#);
    let (mut back, _) = all[1].ws_client_with_sid();
    back.send(&mut all[1], &recovery_auth(&pid, &offset));
    assert!(restore_across(&mut all, 1));
    let (request, _, _) = connect_request(&mut all[1]);
    let rejoined = accept(&mut all[1], &mut back, request);
    assert!(rejoined.recovered);
    assert_eq!(events(&rejoined.missed), [m(1), m(2)]);
    // It leaves again before anything else reaches it: the offset it holds
    // is that of the last packet it got.
    let (_, offset) = event(rejoined.missed.last().unwrap());
    cut(&mut all[1], &back);
    assert_eq!(kept(&all[1]), 1);
    for n in 3..6 {
        broadcast_all(
            &mut all,
            &BroadcastOptions::default(),
            &format!(r#"["m",{n}]"#),
        );
    }
    // Back to shard 1, which keeps it: no request to the driver.
    let (mut again, _) = all[1].ws_client_with_sid();
    again.send(&mut all[1], &recovery_auth(&pid, &offset));
    let (request, _, recovering) = connect_request(&mut all[1]);
    assert!(recovering);
    let third = accept(&mut all[1], &mut again, request);
    assert!(third.recovered);
    assert_eq!(third.sid, joined.sid);
    assert_eq!(events(&third.missed), (3..6).map(m).collect::<Vec<_>>());
    assert_eq!(all.iter().map(misses).sum::<u64>(), 0);
}

#[test]
fn handed_over_with_nothing_missed_then_back_with_the_old_offset() {
    // Handed over with nothing missed, the client still holds shard 0's
    // offset when it leaves shard 1. Shard 1 must neither read it as one
    // of its own packets (its log numbers them apart: shard 0 logged one
    // more) nor lose what came since: it remembers the offset as the
    // point it took the session over at. Back through shard 1 (which
    // keeps it) and through shard 0 (which made the offset).
    for back_to in [1, 0] {
        let mut all = shards(2, recovery_config());
        let (mut client, joined) = join(&mut all[0]);
        let pid = joined.pid.clone().unwrap();
        emit_direct(&mut all[0], joined.socket);
        for _ in 0..3 {
            broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",0]"#);
        }
        let (_, offset) = event(client.packets(&mut all[0]).last().unwrap());
        cut(&mut all[0], &client);
        let (mut back, _) = all[1].ws_client_with_sid();
        back.send(&mut all[1], &recovery_auth(&pid, &offset));
        assert!(restore_across(&mut all, 1));
        let (request, _, _) = connect_request(&mut all[1]);
        let rejoined = accept(&mut all[1], &mut back, request);
        assert!(rejoined.recovered);
        assert!(rejoined.missed.is_empty());
        cut(&mut all[1], &back);
        for n in 1..4 {
            broadcast_all(
                &mut all,
                &BroadcastOptions::default(),
                &format!(r#"["m",{n}]"#),
            );
        }
        let (mut again, _) = all[back_to].ws_client_with_sid();
        again.send(&mut all[back_to], &recovery_auth(&pid, &offset));
        if back_to == 0 {
            assert!(restore_across(&mut all, 0));
        }
        let (request, _, recovering) = connect_request(&mut all[back_to]);
        assert!(recovering);
        let third = accept(&mut all[back_to], &mut again, request);
        assert!(third.recovered);
        assert_eq!(third.sid, joined.sid);
        assert_eq!(events(&third.missed), (1..4).map(m).collect::<Vec<_>>());
        for packet in &third.missed {
            let seq: u64 = event(packet).1.parse().unwrap();
            assert_eq!(shard_of_number(seq, 2), back_to);
        }
        assert_eq!(all.iter().map(misses).sum::<u64>(), 0);
        // Only the client that holds that very offset: another is a miss.
        let (other, _) = all[1].ws_client_with_sid();
        other.send(&mut all[1], &recovery_auth(&pid, "999"));
        assert!(!restore_across(&mut all, 1));
        connect_request(&mut all[1]);
        assert_eq!(all.iter().map(misses).sum::<u64>(), 1);
    }
}

#[test]
fn a_handed_over_session_refused_or_abandoned_stays_for_a_retry() {
    for refuse in [true, false] {
        let mut all = shards(2, recovery_config());
        let (mut client, joined) = join(&mut all[0]);
        let pid = joined.pid.clone().unwrap();
        broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",0]"#);
        let (_, offset) = event(&client.packets(&mut all[0])[0]);
        cut(&mut all[0], &client);
        broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",1]"#);
        let (mut back, _) = all[1].ws_client_with_sid();
        back.send(&mut all[1], &recovery_auth(&pid, &offset));
        assert!(restore_across(&mut all, 1));
        let (request, _, recovering) = connect_request(&mut all[1]);
        assert!(recovering);
        let now = all[1].now;
        match refuse {
            true => {
                all[1].server.reject(now, request, "not now", None).unwrap();
                all[1].drain();
                assert_eq!(back.packets(&mut all[1]), [r#"4{"message":"not now"}"#]);
            }
            false => cut(&mut all[1], &back),
        }
        assert_eq!(kept(&all[1]), 1, "kept for a retry");
        broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",2]"#);
        // The retry, still with shard 0's offset, finds it in shard 1.
        let (mut retry, _) = all[1].ws_client_with_sid();
        retry.send(&mut all[1], &recovery_auth(&pid, &offset));
        let (request, _, recovering) = connect_request(&mut all[1]);
        assert!(recovering);
        let rejoined = accept(&mut all[1], &mut retry, request);
        assert!(rejoined.recovered);
        assert_eq!(rejoined.sid, joined.sid);
        assert_eq!(events(&rejoined.missed), [m(1), m(2)]);
        assert_eq!(all.iter().map(misses).sum::<u64>(), 0);
    }
}

#[test]
fn a_pid_no_shard_keeps_gives_a_new_session_and_one_miss() {
    let mut all = shards(3, recovery_config());
    let (client, joined) = join(&mut all[0]);
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",0]"#);
    cut(&mut all[0], &client);
    // An unknown pid, then a known pid with an offset no shard logged.
    let pid = joined.pid.clone().unwrap();
    for (n, auth) in [recovery_auth("nope", "0"), recovery_auth(&pid, "999999")]
        .into_iter()
        .enumerate()
    {
        let (mut back, _) = all[2].ws_client_with_sid();
        back.send(&mut all[2], &auth);
        assert!(!restore_across(&mut all, 2));
        let (request, _, recovering) = connect_request(&mut all[2]);
        assert!(!recovering);
        let fresh = accept(&mut all[2], &mut back, request);
        assert!(!fresh.recovered);
        assert_ne!(fresh.sid, joined.sid);
        assert!(fresh.missed.is_empty());
        // Counted once, by the shard that asked.
        assert_eq!(misses(&all[2]), n as u64 + 1);
        assert_eq!(misses(&all[0]) + misses(&all[1]), 0);
    }
    // Shard 0 still keeps it (the offset was not its).
    assert_eq!(kept(&all[0]), 1);
}

#[test]
fn a_session_kept_where_the_client_comes_back_needs_no_other_shard() {
    let mut all = shards(2, recovery_config());
    let (client, joined) = join(&mut all[1]);
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",0]"#);
    let mut client = client;
    let (_, offset) = event(&client.packets(&mut all[1])[0]);
    cut(&mut all[1], &client);
    broadcast_all(&mut all, &BroadcastOptions::default(), r#"["m",1]"#);
    let (mut back, _) = all[1].ws_client_with_sid();
    back.send(
        &mut all[1],
        &recovery_auth(joined.pid.as_deref().unwrap(), &offset),
    );
    // No RestoreRequest: the ConnectRequest comes at once.
    let (request, _, recovering) = connect_request(&mut all[1]);
    assert!(recovering);
    let rejoined = accept(&mut all[1], &mut back, request);
    assert!(rejoined.recovered);
    assert_eq!(rejoined.sid, joined.sid);
    assert_eq!(events(&rejoined.missed), [m(1)]);
    assert!(all[0].take_events().is_empty());
    assert_eq!(misses(&all[0]) + misses(&all[1]), 0);
}

#[test]
fn one_shard_is_an_unsharded_server() {
    let mut plain = Harness::new(recovery_config());
    let mut one = Harness::new(recovery_config());
    one.server.set_shard(Shard::ONE);
    assert_eq!(one.server.shard(), plain.server.shard());
    // The same seed, the same inputs: the same ids, offsets and bytes.
    let mut sids = Vec::new();
    for h in [&mut plain, &mut one] {
        let (mut client, engine_sid) = h.ws_client_with_sid();
        let joined = {
            client.send(h, "0");
            let (request, _, _) = connect_request(h);
            accept(h, &mut client, request)
        };
        let now = h.now;
        h.server
            .broadcast(now, "/", &BroadcastOptions::default(), json("[1]"), vec![]);
        h.drain();
        let seen = client.packets(h);
        // An unknown pid: no RestoreRequest, a new session, one miss.
        let (mut other, _) = h.ws_client_with_sid();
        other.send(h, &recovery_auth("nope", "0"));
        let (request, _, recovering) = connect_request(h);
        assert!(!recovering);
        accept(h, &mut other, request);
        assert_eq!(misses(h), 1);
        sids.push((engine_sid, joined.sid, joined.pid, joined.socket, seen));
    }
    assert_eq!(sids[0], sids[1]);
}

fn m(n: i32) -> serde_json::Value {
    serde_json::json!(["m", n])
}

fn json_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}
