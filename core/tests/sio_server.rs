//! The Socket.IO server driven through its public API by fake clients that
//! speak raw Engine.IO over WebSocket frames (and polling requests), with a
//! simulated clock.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use proptest::prelude::*;

use sio_core::engine::SessionId;
use sio_core::server::{
    BroadcastOptions, Config, DisconnectReason, Event, Server, ServerError, SocketId,
};
use sio_core::wire::http::{Method, Response};
use sio_core::wire::ws::frame::{encode_frame, OpCode};
use sio_core::Instant;

mod harness;

use harness::{config, json, request, Client, Harness, Recv};

// ----- harness -----

impl Harness {
    /// A WebSocket client connected to `nsp` (accepted), with its socket.
    fn connected(&mut self, nsp: &str) -> (Client, SocketId) {
        let mut client = self.ws_client();
        let socket = client.join(self, nsp);
        (client, socket)
    }

    fn only_connect_request(&mut self) -> (sio_core::server::ConnectRequestId, SessionId) {
        match self.take_events().as_slice() {
            [Event::ConnectRequest {
                request, session, ..
            }] => (*request, *session),
            other => panic!("expected one connect request, got {other:?}"),
        }
    }
}

impl Client {
    fn send_binary(&self, h: &mut Harness, data: &[u8]) {
        self.frame(h, OpCode::Binary, data);
    }

    /// CONNECT to `nsp`, accepted; checks the reply.
    fn join(&mut self, h: &mut Harness, nsp: &str) -> SocketId {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(h, &format!("0{prefix}"));
        let (request, _) = h.only_connect_request();
        let now = h.now;
        let socket = h.server.accept(now, request).expect("accept");
        h.drain();
        let sid = h.server.socket_sid(socket).expect("sid").to_string();
        assert_eq!(
            self.packets(h),
            vec![format!("0{prefix}{{\"sid\":\"{sid}\"}}")]
        );
        match h.take_events().as_slice() {
            [Event::Connected {
                socket: s, nsp: n, ..
            }] => {
                assert_eq!(*s, socket);
                assert_eq!(&**n, nsp);
            }
            other => panic!("expected Connected, got {other:?}"),
        }
        socket
    }
}

fn disconnects(events: &[Event]) -> Vec<(SocketId, DisconnectReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Disconnect { socket, reason, .. } => Some((*socket, *reason)),
            _ => None,
        })
        .collect()
}

// ----- connect -----

#[test]
fn connect_main_and_custom_namespace_on_one_session() {
    let mut h = Harness::new(config());
    h.server.add_namespace("/admin").unwrap();
    let mut client = h.ws_client();
    client.send(&mut h, "0");
    let (request, session) = match h.take_events().as_slice() {
        [Event::ConnectRequest {
            request,
            session,
            nsp,
            auth,
            dynamic,
            ..
        }] => {
            assert_eq!(&**nsp, "/");
            assert_eq!(*auth, None);
            assert!(!dynamic);
            (*request, *session)
        }
        other => panic!("{other:?}"),
    };
    let main = h.server.accept(h.now, request).unwrap();
    h.drain();
    let sid = h.server.socket_sid(main).unwrap().to_string();
    assert_eq!(sid.len(), 20);
    assert!(sid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(
        client.packets(&mut h),
        vec![format!("0{{\"sid\":\"{sid}\"}}")]
    );
    assert_eq!(
        h.take_events(),
        vec![Event::Connected {
            socket: main,
            session,
            nsp: "/".into(),
            recovered: false,
        }]
    );
    // The socket is in the room named by its id.
    assert_eq!(
        h.server.rooms(main).unwrap().collect::<Vec<_>>(),
        vec![&*sid]
    );
    assert_eq!(h.server.room_members("/", &sid), vec![main]);

    let admin = client.join(&mut h, "/admin");
    assert_ne!(h.server.socket_sid(admin), h.server.socket_sid(main));
    assert_eq!(h.server.socket_session(admin), Some(session));
    assert_eq!(h.server.session_sockets(session), vec![main, admin]);
    assert_eq!(h.server.socket_count(), 2);
    assert_eq!(h.server.engine().session_count(), 1);
    let hs = h.server.handshake(admin).unwrap();
    assert!(hs.engine.url.contains("transport=websocket"));
    assert_eq!(hs.auth, None);
}

#[test]
fn connect_over_polling() {
    let mut h = Harness::new(config());
    let conn = h.conn();
    h.server.handle_request(
        h.now,
        conn,
        request(
            Method::Get,
            "/socket.io/?EIO=4&transport=polling",
            vec![],
            b"",
        ),
    );
    h.drain();
    let open = h.responses.remove(&conn).unwrap();
    assert_eq!(open.status, 200);
    let body = String::from_utf8(open.body.to_vec()).unwrap();
    let sid = body
        .strip_prefix("0{\"sid\":\"")
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let post = h.conn();
    h.server.handle_request(
        h.now,
        post,
        request(
            Method::Post,
            &format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
            vec![],
            b"40",
        ),
    );
    h.drain();
    assert_eq!(&h.responses.remove(&post).unwrap().body[..], b"ok");
    let (request_id, _) = h.only_connect_request();
    let socket = h.server.accept(h.now, request_id).unwrap();
    h.drain();
    let get = h.conn();
    h.server.handle_request(
        h.now,
        get,
        request(
            Method::Get,
            &format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
            vec![],
            b"",
        ),
    );
    h.drain();
    let reply = h.responses.remove(&get).expect("GET answered");
    let socket_sid = h.server.socket_sid(socket).unwrap();
    assert_eq!(
        String::from_utf8(reply.body.to_vec()).unwrap(),
        format!("40{{\"sid\":\"{socket_sid}\"}}")
    );
}

#[test]
fn unknown_namespace_is_refused_exactly() {
    let mut h = Harness::new(config());
    let mut client = h.ws_client();
    client.send(&mut h, "0/nope,");
    client.send(&mut h, "0/random");
    assert_eq!(
        client.packets(&mut h),
        vec![
            "4/nope,{\"message\":\"Invalid namespace\"}".to_string(),
            "4/random,{\"message\":\"Invalid namespace\"}".to_string(),
        ]
    );
    assert!(h.take_events().is_empty());
    // The session stays usable.
    client.join(&mut h, "/");
}

#[test]
fn dynamic_namespace_offered_to_the_application() {
    let mut h = Harness::new(config());
    h.server.set_dynamic_namespaces(true);
    let mut client = h.ws_client();
    client.send(&mut h, "0/random");
    let request = match h.take_events().as_slice() {
        [Event::ConnectRequest {
            request,
            nsp,
            dynamic,
            ..
        }] => {
            assert_eq!(&**nsp, "/random");
            assert!(*dynamic);
            *request
        }
        other => panic!("{other:?}"),
    };
    assert!(!h.server.has_namespace("/random"));
    let socket = h.server.accept(h.now, request).unwrap();
    h.drain();
    let sid = h.server.socket_sid(socket).unwrap().to_string();
    assert_eq!(
        client.packets(&mut h),
        vec![format!("0/random,{{\"sid\":\"{sid}\"}}")]
    );
    assert!(h.server.has_namespace("/random"));
    assert!(matches!(
        h.take_events().as_slice(),
        [Event::Connected { socket: s, .. }] if *s == socket
    ));

    // The predicate said no: the driver rejects as the reference does.
    client.send(&mut h, "0/other,");
    let (request, _) = h.only_connect_request();
    h.server
        .reject(h.now, request, "Invalid namespace", None)
        .unwrap();
    h.drain();
    assert_eq!(
        client.packets(&mut h),
        vec!["4/other,{\"message\":\"Invalid namespace\"}".to_string()]
    );
    assert!(!h.server.has_namespace("/other"));
}

#[test]
fn middleware_verdicts_accept_and_reject_with_data() {
    let mut h = Harness::new(config());
    let mut client = h.ws_client();
    client.send(&mut h, "0{\"token\":\"x\",\"a\":1}");
    let request = match h.take_events().as_slice() {
        [Event::ConnectRequest { request, auth, .. }] => {
            assert_eq!(auth.as_ref().unwrap().as_str(), "{\"token\":\"x\",\"a\":1}");
            *request
        }
        other => panic!("{other:?}"),
    };
    h.server
        .reject(
            h.now,
            request,
            "not \"authorized\"",
            Some(json("{\"code\":1}")),
        )
        .unwrap();
    h.drain();
    assert_eq!(
        client.packets(&mut h),
        vec!["4{\"message\":\"not \\\"authorized\\\"\",\"data\":{\"code\":1}}".to_string()]
    );
    assert_eq!(
        h.server.accept(h.now, request),
        Err(ServerError::UnknownRequest)
    );
    assert_eq!(h.server.socket_count(), 0);

    // Without data there is no data key; then a retry is accepted.
    client.send(&mut h, "0");
    let (request, _) = h.only_connect_request();
    h.server.reject(h.now, request, "nope", None).unwrap();
    h.drain();
    assert_eq!(
        client.packets(&mut h),
        vec!["4{\"message\":\"nope\"}".to_string()]
    );
    client.send(&mut h, "0{\"token\":\"y\"}");
    let (request, _) = h.only_connect_request();
    let socket = h.server.accept(h.now, request).unwrap();
    h.drain();
    assert_eq!(client.packets(&mut h).len(), 1);
    assert_eq!(
        h.server.handshake(socket).unwrap().auth.unwrap().as_str(),
        "{\"token\":\"y\"}"
    );
}

#[test]
fn request_of_a_closed_session_is_dropped() {
    let mut h = Harness::new(config());
    let client = h.ws_client();
    client.send(&mut h, "0");
    let (request, _) = h.only_connect_request();
    h.server.handle_conn_closed(h.now, client.conn);
    h.drain();
    assert_eq!(
        h.server.accept(h.now, request),
        Err(ServerError::UnknownRequest)
    );
    assert_eq!(
        h.server.reject(h.now, request, "x", None),
        Err(ServerError::UnknownRequest)
    );
    assert_eq!(h.server.socket_count(), 0);
}

#[test]
fn connect_timeout_closes_at_exactly_45_s() {
    let mut h = Harness::new(config());
    let mut idle = h.ws_client();
    let (mut joined, _) = h.connected("/");
    assert_eq!(h.timeout, Some(Instant::from_millis(45_000)));
    h.advance_to(Instant::from_millis(44_999));
    assert_eq!(h.server.engine().session_count(), 2);
    assert!(idle.recv(&mut h).is_empty());
    h.advance_to(Instant::from_millis(45_000));
    assert_eq!(h.server.engine().session_count(), 1);
    let closing = idle.recv(&mut h);
    assert!(closing.contains(&Recv::Close), "{closing:?}");
    assert!(joined.recv(&mut h).is_empty());
    assert!(h.take_events().is_empty());
}

/// A polling request at `query` (`sid=` appended), with `body` for a POST.
fn polling(h: &mut Harness, method: Method, sid: &str, body: &[u8]) -> Response {
    let conn = h.conn();
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    h.server
        .handle_request(h.now, conn, request(method, &target, vec![], body));
    h.drain();
    h.responses.remove(&conn).expect("answered")
}

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
    let body = String::from_utf8(h.responses.remove(&conn).unwrap().body.to_vec()).unwrap();
    body.strip_prefix("0{\"sid\":\"")
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string()
}

const UNKNOWN_SID: &str = r#"{"code":1,"message":"Session ID unknown"}"#;

#[test]
fn a_polling_session_past_its_pong_deadline_gets_400() {
    // Node's defaults: the connect timeout (45 s) and the pong deadline
    // (25 s + 20 s) fall together; the driver's timer wakes a little late
    // for the ping, so the connect timeout closes the session first.
    let mut h = Harness::new(Config::default());
    let sid = open_polling(&mut h);
    h.now = Instant::from_millis(25_001);
    h.server.handle_timeout(h.now);
    h.drain();
    h.now = Instant::from_millis(45_000);
    h.server.handle_timeout(h.now);
    h.drain();
    // Past the pong deadline the session is gone, as in Node, rather than
    // lingering with its ping and close packet.
    h.now = Instant::from_millis(45_001);
    let response = polling(&mut h, Method::Get, &sid, b"");
    assert_eq!(response.status, 400);
    assert_eq!(&response.body[..], UNKNOWN_SID.as_bytes());
    assert_eq!(h.server.engine().footprint().sessions, 0);
}

#[test]
fn inputs_see_deadlines_that_are_due() {
    let mut config = Config::default();
    config.engine.ping_interval = Duration::from_secs(25);
    config.engine.ping_timeout = Duration::from_secs(20);
    let mut h = Harness::new(config);
    let sid = open_polling(&mut h);
    let ok = polling(&mut h, Method::Post, &sid, b"40");
    assert_eq!(&ok.body[..], b"ok");
    let (request, _) = h.only_connect_request();
    let socket = h.server.accept(h.now, request).unwrap();
    h.drain();
    h.take_events();
    let connect = polling(&mut h, Method::Get, &sid, b"");
    assert!(connect.body.starts_with(b"40"));
    h.advance_to(Instant::from_millis(25_000));
    // At the pong deadline exactly, with no timeout handled first.
    h.now = Instant::from_millis(45_000);
    let response = polling(&mut h, Method::Get, &sid, b"");
    assert_eq!(response.status, 400);
    assert_eq!(&response.body[..], UNKNOWN_SID.as_bytes());
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(socket, DisconnectReason::PingTimeout)]
    );
}

#[test]
fn a_pending_verdict_does_not_stop_the_connect_timeout() {
    let mut h = Harness::new(config());
    let client = h.ws_client();
    client.send(&mut h, "0");
    let (request, _) = h.only_connect_request();
    h.advance_to(Instant::from_millis(45_000));
    assert_eq!(h.server.engine().session_count(), 0);
    assert_eq!(
        h.server.accept(h.now, request),
        Err(ServerError::UnknownRequest)
    );
}

// ----- events and acks -----

#[test]
fn events_with_acks_both_ways() {
    let mut h = Harness::new(config());
    let (mut client, socket) = h.connected("/");

    client.send(&mut h, "2[\"hello\",1,{\"b\":2,\"a\":1}]");
    client.send(&mut h, "212[\"q\"]");
    assert_eq!(
        h.take_events(),
        vec![
            Event::Event {
                socket,
                data: json("[\"hello\",1,{\"b\":2,\"a\":1}]"),
                attachments: vec![],
                ack: None,
            },
            Event::Event {
                socket,
                data: json("[\"q\"]"),
                attachments: vec![],
                ack: Some(12),
            },
        ]
    );
    h.server
        .ack(
            h.now,
            socket,
            12,
            json("[\"answer\",{\"z\":0,\"y\":1}]"),
            vec![],
        )
        .unwrap();
    h.drain();
    assert_eq!(
        client.packets(&mut h),
        vec!["312[\"answer\",{\"z\":0,\"y\":1}]".to_string()]
    );

    let id = h
        .server
        .emit(
            h.now,
            socket,
            json("[\"ping\",1]"),
            vec![],
            Some(Duration::from_secs(5)),
        )
        .unwrap()
        .expect("an ack id");
    h.drain();
    assert_eq!(client.packets(&mut h), vec![format!("2{id}[\"ping\",1]")]);
    assert_eq!(h.server.pending_ack_count(socket), 1);
    client.send(&mut h, &format!("3{id}[\"pong\"]"));
    assert_eq!(
        h.take_events(),
        vec![Event::Ack {
            socket,
            id,
            data: json("[\"pong\"]"),
            attachments: vec![],
        }]
    );
    assert_eq!(h.server.pending_ack_count(socket), 0);

    // Already settled, never sent: ignored, the session lives on.
    client.send(&mut h, &format!("3{id}[]"));
    client.send(&mut h, "399[]");
    assert!(h.take_events().is_empty());
    assert_eq!(h.server.engine().session_count(), 1);

    // Without an ack: no id on the wire.
    let none = h
        .server
        .emit(h.now, socket, json("[\"x\"]"), vec![], None)
        .unwrap();
    h.drain();
    assert_eq!(none, None);
    assert_eq!(client.packets(&mut h), vec!["2[\"x\"]".to_string()]);
}

#[test]
fn binary_events_and_acks_in_and_out() {
    let mut h = Harness::new(config());
    h.server.add_namespace("/bin").unwrap();
    let mut client = h.ws_client();
    let socket = client.join(&mut h, "/bin");

    client.send(
        &mut h,
        "52-/bin,7[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
    );
    assert!(h.take_events().is_empty(), "waits for attachments");
    client.send_binary(&mut h, &[1, 2, 3]);
    client.send_binary(&mut h, &[]);
    assert_eq!(
        h.take_events(),
        vec![Event::Event {
            socket,
            data: json(
                "[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"
            ),
            attachments: vec![Bytes::from_static(&[1, 2, 3]), Bytes::new()],
            ack: Some(7),
        }]
    );
    h.server
        .ack(
            h.now,
            socket,
            7,
            json("[{\"_placeholder\":true,\"num\":0}]"),
            vec![Bytes::from_static(b"ok")],
        )
        .unwrap();
    h.drain();
    assert_eq!(
        client.recv(&mut h),
        vec![
            Recv::Text("461-/bin,7[{\"_placeholder\":true,\"num\":0}]".into()),
            Recv::Binary(b"ok".to_vec()),
        ]
    );

    let id = h
        .server
        .emit(
            h.now,
            socket,
            json("[\"down\",{\"_placeholder\":true,\"num\":0}]"),
            vec![Bytes::from_static(&[9, 8])],
            Some(Duration::from_secs(1)),
        )
        .unwrap()
        .unwrap();
    h.drain();
    assert_eq!(
        client.recv(&mut h),
        vec![
            Recv::Text(format!(
                "451-/bin,{id}[\"down\",{{\"_placeholder\":true,\"num\":0}}]"
            )),
            Recv::Binary(vec![9, 8]),
        ]
    );
    client.send(
        &mut h,
        &format!("61-/bin,{id}[{{\"_placeholder\":true,\"num\":0}}]"),
    );
    client.send_binary(&mut h, &[5]);
    assert_eq!(
        h.take_events(),
        vec![Event::Ack {
            socket,
            id,
            data: json("[{\"_placeholder\":true,\"num\":0}]"),
            attachments: vec![Bytes::from_static(&[5])],
        }]
    );
}

#[test]
fn ack_timeout_fires_at_exactly_the_deadline() {
    let mut h = Harness::new(config());
    let (mut client, socket) = h.connected("/");
    h.advance_to(Instant::from_millis(1_000));
    let id = h
        .server
        .emit(
            h.now,
            socket,
            json("[\"q\"]"),
            vec![],
            Some(Duration::from_millis(5_000)),
        )
        .unwrap()
        .unwrap();
    h.drain();
    client.packets(&mut h);
    assert_eq!(h.timeout, Some(Instant::from_millis(6_000)));
    h.advance_to(Instant::from_millis(5_999));
    assert!(h.take_events().is_empty());
    assert_eq!(h.server.pending_ack_count(socket), 1);
    h.advance_to(Instant::from_millis(6_000));
    assert_eq!(h.take_events(), vec![Event::AckTimeout { socket, id }]);
    assert_eq!(h.server.pending_ack_count(socket), 0);
    // A late answer is ignored.
    client.send(&mut h, &format!("3{id}[1]"));
    assert!(h.take_events().is_empty());
    assert_eq!(h.server.engine().session_count(), 1);
}

#[test]
fn pending_acks_are_bounded() {
    let mut config = config();
    config.max_pending_acks = 2;
    let mut h = Harness::new(config);
    let (_client, socket) = h.connected("/");
    let t = Some(Duration::from_secs(1));
    assert!(h
        .server
        .emit(h.now, socket, json("[\"a\"]"), vec![], t)
        .is_ok());
    assert!(h
        .server
        .emit(h.now, socket, json("[\"a\"]"), vec![], t)
        .is_ok());
    assert_eq!(
        h.server.emit(h.now, socket, json("[\"a\"]"), vec![], t),
        Err(ServerError::TooManyPendingAcks)
    );
    // Without an ack it still goes out.
    assert_eq!(
        h.server.emit(h.now, socket, json("[\"a\"]"), vec![], None),
        Ok(None)
    );
}

// ----- rooms and broadcast -----

#[test]
fn rooms_join_leave_and_broadcast_with_except() {
    let mut h = Harness::new(config());
    let (mut a, sa) = h.connected("/");
    let (mut b, sb) = h.connected("/");
    let (mut c, sc) = h.connected("/");
    h.server.join(sa, "news").unwrap();
    h.server.join(sb, "news").unwrap();
    h.server.join(sc, "sport").unwrap();
    h.server.join(sb, "muted").unwrap();
    assert_eq!(h.server.room_members("/", "news"), vec![sa, sb]);
    let rooms_b: Vec<&str> = h.server.rooms(sb).unwrap().collect();
    assert!(rooms_b.contains(&"news") && rooms_b.contains(&"muted"));

    let opts = BroadcastOptions {
        rooms: vec!["news".into(), "sport".into()],
        except: vec!["muted".into()],
        ..Default::default()
    };
    let n = h
        .server
        .broadcast(h.now, "/", &opts, json("[\"headline\",1]"), vec![]);
    h.drain();
    assert_eq!(n, 2);
    let ra = a.raw(&mut h);
    let rc = c.raw(&mut h);
    assert_eq!(ra, rc, "identical bytes for every recipient");
    // One encoding: both transmits are the very same buffer.
    assert_eq!(ra.len(), 1);
    assert_eq!(ra[0].as_ptr(), rc[0].as_ptr());
    assert_eq!(a.decode(&ra), vec![Recv::Text("42[\"headline\",1]".into())]);
    assert!(b.recv(&mut h).is_empty());

    // Whole namespace, sender excluded.
    let opts = BroadcastOptions {
        except_sockets: vec![sa],
        ..Default::default()
    };
    assert_eq!(
        h.server
            .broadcast(h.now, "/", &opts, json("[\"all\"]"), vec![]),
        2
    );
    h.drain();
    assert!(a.recv(&mut h).is_empty());
    assert_eq!(b.packets(&mut h), vec!["2[\"all\"]".to_string()]);
    assert_eq!(c.packets(&mut h), vec!["2[\"all\"]".to_string()]);

    // A room named by a socket id reaches that socket only.
    let sid_c = h.server.socket_sid(sc).unwrap().to_string();
    let opts = BroadcastOptions {
        rooms: vec![sid_c.as_str().into()],
        ..Default::default()
    };
    assert_eq!(
        h.server
            .broadcast(h.now, "/", &opts, json("[\"dm\"]"), vec![]),
        1
    );
    h.drain();
    assert_eq!(c.packets(&mut h), vec!["2[\"dm\"]".to_string()]);

    // Leaving the last member removes the room.
    let before = h.server.room_count("/");
    h.server.leave(sc, "sport").unwrap();
    assert_eq!(h.server.room_count("/"), before - 1);
    assert!(h.server.room_members("/", "sport").is_empty());
    h.server.leave(sc, "sport").unwrap();
    h.server.disconnect(h.now, sc).unwrap();
    assert_eq!(h.server.join(sc, "x"), Err(ServerError::UnknownSocket));
    assert_eq!(h.server.leave(sc, "x"), Err(ServerError::UnknownSocket));
}

#[test]
fn binary_broadcast_with_ack_shares_one_encoding_and_one_id() {
    let mut h = Harness::new(config());
    let (mut a, sa) = h.connected("/");
    let (b, sb) = h.connected("/");
    let sent = h.server.broadcast_with_ack(
        h.now,
        "/",
        &BroadcastOptions::default(),
        json("[\"bin\",{\"_placeholder\":true,\"num\":0}]"),
        vec![Bytes::from_static(&[0xff, 0])],
        Duration::from_secs(2),
    );
    h.drain();
    assert_eq!(sent.len(), 2);
    let id = sent[0].1;
    assert_eq!(sent, vec![(sa, id), (sb, id)]);
    let ra = a.raw(&mut h);
    let rb = b.raw(&mut h);
    assert_eq!(ra, rb);
    assert_eq!(
        a.decode(&ra),
        vec![
            Recv::Text(format!(
                "451-{id}[\"bin\",{{\"_placeholder\":true,\"num\":0}}]"
            )),
            Recv::Binary(vec![0xff, 0]),
        ]
    );
    a.send(&mut h, &format!("3{id}[\"a\"]"));
    assert_eq!(h.take_events().len(), 1);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.take_events(), vec![Event::AckTimeout { socket: sb, id }]);
}

#[test]
fn volatile_broadcast_is_dropped_while_the_transport_is_busy() {
    let mut h = Harness::new(config());
    let (mut a, sa) = h.connected("/");
    let (mut b, _sb) = h.connected("/");
    h.auto_flush = false;
    // a's transport gets busy: something written, not flushed yet.
    h.server
        .emit(h.now, sa, json("[\"first\"]"), vec![], None)
        .unwrap();
    h.drain();
    let opts = BroadcastOptions {
        volatile: true,
        ..Default::default()
    };
    let n = h
        .server
        .broadcast(h.now, "/", &opts, json("[\"v\"]"), vec![]);
    h.drain();
    assert_eq!(n, 1);
    assert_eq!(a.packets(&mut h), vec!["2[\"first\"]".to_string()]);
    assert_eq!(b.packets(&mut h), vec!["2[\"v\"]".to_string()]);
    h.auto_flush = true;
    let (ca, cb) = (a.conn, b.conn);
    h.server.handle_flushed(h.now, ca);
    h.server.handle_flushed(h.now, cb);
    h.drain();
    let n = h
        .server
        .broadcast(h.now, "/", &opts, json("[\"v2\"]"), vec![]);
    h.drain();
    assert_eq!(n, 2);
    assert_eq!(a.packets(&mut h), vec!["2[\"v2\"]".to_string()]);
}

// ----- disconnects -----

#[test]
fn server_disconnect_sends_disconnect_and_reports_rooms() {
    let mut h = Harness::new(config());
    h.server.add_namespace("/chat").unwrap();
    let mut client = h.ws_client();
    let main = client.join(&mut h, "/");
    let chat = client.join(&mut h, "/chat");
    h.server.join(chat, "lobby").unwrap();
    let sid = h.server.socket_sid(chat).unwrap().to_string();
    h.server
        .emit(
            h.now,
            chat,
            json("[\"q\"]"),
            vec![],
            Some(Duration::from_secs(1)),
        )
        .unwrap();
    h.drain();
    client.packets(&mut h);
    h.server.disconnect(h.now, chat).unwrap();
    h.drain();
    assert_eq!(client.packets(&mut h), vec!["1/chat,".to_string()]);
    let mut rooms = vec![ByteString::from("lobby"), ByteString::from(sid.as_str())];
    rooms.sort();
    assert_eq!(
        h.take_events(),
        vec![Event::Disconnect {
            socket: chat,
            nsp: "/chat".into(),
            reason: DisconnectReason::ServerNamespaceDisconnect,
            rooms,
        }]
    );
    assert_eq!(h.server.pending_ack_count(chat), 0);
    assert!(h.server.room_members("/chat", "lobby").is_empty());
    assert_eq!(
        h.server.disconnect(h.now, chat),
        Err(ServerError::UnknownSocket)
    );
    // The session and the other socket live on; the ack timer is gone.
    assert_eq!(h.server.engine().session_count(), 1);
    h.advance(Duration::from_secs(2));
    assert!(h.take_events().is_empty());
    h.server.disconnect(h.now, main).unwrap();
    h.drain();
    assert_eq!(client.packets(&mut h), vec!["1".to_string()]);
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(main, DisconnectReason::ServerNamespaceDisconnect)]
    );
}

#[test]
fn client_namespace_disconnect_keeps_the_session_open() {
    let mut h = Harness::new(config());
    h.server.add_namespace("/x").unwrap();
    let mut client = h.ws_client();
    let main = client.join(&mut h, "/");
    let x = client.join(&mut h, "/x");
    client.send(&mut h, "1/x,");
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(x, DisconnectReason::ClientNamespaceDisconnect)]
    );
    client.send(&mut h, "1");
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(main, DisconnectReason::ClientNamespaceDisconnect)]
    );
    assert!(client.recv(&mut h).is_empty(), "nothing sent back");
    assert_eq!(h.server.engine().session_count(), 1);
    assert_eq!(h.server.socket_count(), 0);
    // Leaving every namespace does not re-arm the connect timeout.
    h.advance(Duration::from_secs(60));
    assert_eq!(h.server.engine().session_count(), 1);
    client.join(&mut h, "/");
}

#[test]
fn disconnect_session_closes_everything() {
    let mut h = Harness::new(config());
    h.server.add_namespace("/x").unwrap();
    let mut client = h.ws_client();
    let main = client.join(&mut h, "/");
    let x = client.join(&mut h, "/x");
    h.server.disconnect_session(h.now, x).unwrap();
    h.drain();
    let got = client.recv(&mut h);
    assert_eq!(got[0], Recv::Text("41".into()));
    assert_eq!(got[1], Recv::Text("41/x,".into()));
    assert!(got.contains(&Recv::Close), "{got:?}");
    assert_eq!(
        disconnects(&h.take_events()),
        vec![
            (main, DisconnectReason::ServerNamespaceDisconnect),
            (x, DisconnectReason::ServerNamespaceDisconnect),
        ]
    );
    assert_eq!(h.server.engine().session_count(), 0);
    assert_eq!(h.server.socket_count(), 0);
}

#[test]
fn shutdown_disconnects_everyone() {
    let mut h = Harness::new(config());
    let (_a, sa) = h.connected("/");
    let (_b, sb) = h.connected("/");
    h.server.shutdown(h.now);
    h.drain();
    assert_eq!(
        disconnects(&h.take_events()),
        vec![
            (sa, DisconnectReason::ServerShutdown),
            (sb, DisconnectReason::ServerShutdown),
        ]
    );
    assert_eq!(h.server.engine().session_count(), 0);
}

#[test]
fn transport_close_and_ping_timeout_reasons() {
    let mut config = config();
    config.engine.ping_interval = Duration::from_secs(25);
    config.engine.ping_timeout = Duration::from_secs(20);
    let mut h = Harness::new(config);
    let (closing, sc) = h.connected("/");
    let (_silent, ss) = h.connected("/");
    h.server.handle_conn_closed(h.now, closing.conn);
    h.drain();
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(sc, DisconnectReason::TransportClose)]
    );
    h.advance(Duration::from_secs(45));
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(ss, DisconnectReason::PingTimeout)]
    );
    assert_eq!(DisconnectReason::PingTimeout.as_str(), "ping timeout");
}

#[test]
fn malformed_packet_closes_the_session_with_parse_error() {
    for garbage in [
        "9",
        "2{\"not\":\"an array\"}",
        "2[\"a\"]junk",
        "51-[\"b\"]x",
        "2",
    ] {
        let mut h = Harness::new(config());
        h.server.add_namespace("/y").unwrap();
        let mut client = h.ws_client();
        let main = client.join(&mut h, "/");
        let y = client.join(&mut h, "/y");
        client.send(&mut h, garbage);
        assert_eq!(
            disconnects(&h.take_events()),
            vec![
                (main, DisconnectReason::ParseError),
                (y, DisconnectReason::ParseError)
            ],
            "{garbage}"
        );
        assert_eq!(h.server.engine().session_count(), 0, "{garbage}");
        assert!(client.recv(&mut h).contains(&Recv::Close), "{garbage}");
    }
}

#[test]
fn packet_for_a_namespace_not_joined_closes_the_session() {
    // As the reference server's client does ("invalid state").
    let mut h = Harness::new(config());
    let (client, main) = h.connected("/");
    client.send(&mut h, "2/other,[\"x\"]");
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(main, DisconnectReason::ForcedServerClose)]
    );
    assert_eq!(h.server.engine().session_count(), 0);
    assert_eq!(
        DisconnectReason::ForcedServerClose.as_str(),
        "forced server close"
    );
}

#[test]
fn too_many_namespaces_per_session_is_refused() {
    let mut config = config();
    config.max_namespaces_per_session = 1;
    let mut h = Harness::new(config);
    h.server.add_namespace("/b").unwrap();
    let (mut client, _) = h.connected("/");
    client.send(&mut h, "0/b,");
    assert_eq!(
        client.packets(&mut h),
        vec!["4/b,{\"message\":\"Too many namespaces\"}".to_string()]
    );
    assert!(h.take_events().is_empty());
}

#[test]
fn reason_strings_match_the_reference() {
    let table = [
        (
            DisconnectReason::ServerNamespaceDisconnect,
            "server namespace disconnect",
        ),
        (
            DisconnectReason::ClientNamespaceDisconnect,
            "client namespace disconnect",
        ),
        (DisconnectReason::ServerShutdown, "server shutting down"),
        (DisconnectReason::PingTimeout, "ping timeout"),
        (DisconnectReason::TransportClose, "transport close"),
        (DisconnectReason::TransportError, "transport error"),
        (DisconnectReason::ParseError, "parse error"),
        (DisconnectReason::ForcedClose, "forced close"),
        (DisconnectReason::ForcedServerClose, "forced server close"),
    ];
    for (reason, text) in table {
        assert_eq!(reason.as_str(), text);
    }
    assert_eq!(
        Server::new(Config::default(), [0; 32]).add_namespace("nope"),
        Err(ServerError::InvalidNamespace)
    );
}

// ----- proptest: no state outlives its socket -----

#[derive(Debug, Clone)]
enum Op {
    Connect {
        client: usize,
        nsp: usize,
    },
    Join {
        client: usize,
        nsp: usize,
        room: usize,
    },
    Leave {
        client: usize,
        nsp: usize,
        room: usize,
    },
    Emit {
        client: usize,
        nsp: usize,
        ack: bool,
    },
    ClientAck {
        client: usize,
        nsp: usize,
        id: u64,
    },
    Broadcast {
        nsp: usize,
        room: Option<usize>,
        except: Option<usize>,
        ack: bool,
    },
    ServerDisconnect {
        client: usize,
        nsp: usize,
    },
    ClientDisconnect {
        client: usize,
        nsp: usize,
    },
    CloseSession {
        client: usize,
    },
    Advance {
        ms: u64,
    },
}

const NSPS: [&str; 2] = ["/", "/p"];
const ROOMS: [&str; 3] = ["r0", "r1", "r2"];
const CLIENTS: usize = 3;

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CLIENTS;
    let n = 0..NSPS.len();
    let r = 0..ROOMS.len();
    prop_oneof![
        (c.clone(), n.clone()).prop_map(|(client, nsp)| Op::Connect { client, nsp }),
        (c.clone(), n.clone(), r.clone()).prop_map(|(client, nsp, room)| Op::Join {
            client,
            nsp,
            room
        }),
        (c.clone(), n.clone(), r.clone()).prop_map(|(client, nsp, room)| Op::Leave {
            client,
            nsp,
            room
        }),
        (c.clone(), n.clone(), any::<bool>()).prop_map(|(client, nsp, ack)| Op::Emit {
            client,
            nsp,
            ack
        }),
        (c.clone(), n.clone(), 0..4u64).prop_map(|(client, nsp, id)| Op::ClientAck {
            client,
            nsp,
            id
        }),
        (
            n.clone(),
            proptest::option::of(r.clone()),
            proptest::option::of(r.clone()),
            any::<bool>()
        )
            .prop_map(|(nsp, room, except, ack)| Op::Broadcast {
                nsp,
                room,
                except,
                ack
            }),
        (c.clone(), n.clone()).prop_map(|(client, nsp)| Op::ServerDisconnect { client, nsp }),
        (c.clone(), n.clone()).prop_map(|(client, nsp)| Op::ClientDisconnect { client, nsp }),
        c.clone().prop_map(|client| Op::CloseSession { client }),
        (0..3_000u64).prop_map(|ms| Op::Advance { ms }),
    ]
}

struct Model {
    clients: Vec<Option<Client>>,
    /// Socket of (client, namespace), as the model believes.
    sockets: BTreeMap<(usize, usize), SocketId>,
    gone: Vec<SocketId>,
}

impl Model {
    fn client(&mut self, h: &mut Harness, i: usize) -> &mut Client {
        if self.clients[i].is_none() {
            self.clients[i] = Some(h.ws_client());
        }
        self.clients[i].as_mut().unwrap()
    }

    /// Applies disconnect events to the model.
    fn settle(&mut self, h: &mut Harness) {
        for event in h.take_events() {
            if let Event::Disconnect { socket, rooms, .. } = event {
                // The rooms reported were readable: the socket's own id is there.
                assert!(!rooms.is_empty());
                self.sockets.retain(|_, s| *s != socket);
                self.gone.push(socket);
            }
        }
    }

    fn check(&self, h: &Harness) {
        assert_eq!(h.server.socket_count(), self.sockets.len());
        for socket in &self.gone {
            assert_eq!(h.server.pending_ack_count(*socket), 0);
            assert!(h.server.rooms(*socket).is_err());
            assert!(h.server.socket_sid(*socket).is_none());
        }
        for nsp in NSPS {
            for member in h.server.namespace_sockets(nsp) {
                assert!(self.sockets.values().any(|s| *s == member));
            }
            for room in ROOMS {
                for member in h.server.room_members(nsp, room) {
                    assert!(self.sockets.values().any(|s| *s == member), "{room}");
                    assert!(h.server.rooms(member).unwrap().any(|r| r == room));
                }
            }
        }
    }
}

fn run_ops(ops: Vec<Op>) {
    let mut h = Harness::new(config());
    h.server.add_namespace("/p").unwrap();
    let mut m = Model {
        clients: (0..CLIENTS).map(|_| None).collect(),
        sockets: BTreeMap::new(),
        gone: Vec::new(),
    };
    for op in ops {
        match op {
            Op::Connect { client, nsp } => {
                if m.sockets.contains_key(&(client, nsp)) {
                    continue;
                }
                let c = m.client(&mut h, client);
                h.transmitted.remove(&c.conn);
                let socket = c.join(&mut h, NSPS[nsp]);
                m.sockets.insert((client, nsp), socket);
            }
            Op::Join { client, nsp, room } => {
                if let Some(&s) = m.sockets.get(&(client, nsp)) {
                    h.server.join(s, ROOMS[room]).unwrap();
                }
            }
            Op::Leave { client, nsp, room } => {
                if let Some(&s) = m.sockets.get(&(client, nsp)) {
                    h.server.leave(s, ROOMS[room]).unwrap();
                }
            }
            Op::Emit { client, nsp, ack } => {
                if let Some(&s) = m.sockets.get(&(client, nsp)) {
                    let timeout = ack.then_some(Duration::from_millis(2_000));
                    h.server
                        .emit(h.now, s, json("[\"e\"]"), vec![], timeout)
                        .unwrap();
                    h.drain();
                }
            }
            Op::ClientAck { client, nsp, id } => {
                if m.sockets.contains_key(&(client, nsp)) {
                    let prefix = if nsp == 0 {
                        String::new()
                    } else {
                        format!("{},", NSPS[nsp])
                    };
                    if let Some(c) = m.clients[client].as_ref() {
                        c.send(&mut h, &format!("3{prefix}{id}[]"));
                    }
                }
            }
            Op::Broadcast {
                nsp,
                room,
                except,
                ack,
            } => {
                // Read what is pending first, so only the broadcast is compared.
                for c in m.clients.iter().flatten() {
                    h.transmitted.remove(&c.conn);
                }
                let opts = BroadcastOptions {
                    rooms: room.map(|r| ROOMS[r].into()).into_iter().collect(),
                    except: except.map(|r| ROOMS[r].into()).into_iter().collect(),
                    ..Default::default()
                };
                let data = json("[\"b\",{\"k\":[1,2]}]");
                let members = h.server.namespace_sockets(NSPS[nsp]);
                let count = if ack {
                    let sent = h.server.broadcast_with_ack(
                        h.now,
                        NSPS[nsp],
                        &opts,
                        data,
                        vec![],
                        Duration::from_millis(1_500),
                    );
                    // One id for every recipient, each now waiting for it.
                    for (socket, id) in &sent {
                        assert_eq!(*id, sent[0].1);
                        assert!(h.server.pending_ack_count(*socket) > 0);
                    }
                    sent.len()
                } else {
                    h.server.broadcast(h.now, NSPS[nsp], &opts, data, vec![])
                };
                assert!(count <= members.len());
                if opts.rooms.is_empty() && opts.except.is_empty() {
                    assert_eq!(count, members.len());
                }
                h.drain();
                let mut seen: Vec<Vec<Bytes>> = Vec::new();
                for c in m.clients.iter().flatten() {
                    if let Some(raw) = h.transmitted.remove(&c.conn) {
                        seen.push(raw);
                    }
                }
                assert_eq!(seen.len(), count);
                for raw in &seen {
                    assert_eq!(raw, &seen[0], "every recipient gets the same bytes");
                }
            }
            Op::ServerDisconnect { client, nsp } => {
                if let Some(&s) = m.sockets.get(&(client, nsp)) {
                    h.server.disconnect(h.now, s).unwrap();
                    h.drain();
                }
            }
            Op::ClientDisconnect { client, nsp } => {
                if m.sockets.contains_key(&(client, nsp)) {
                    let text = if nsp == 0 {
                        "1".to_string()
                    } else {
                        format!("1{},", NSPS[nsp])
                    };
                    if let Some(c) = m.clients[client].as_ref() {
                        c.send(&mut h, &text);
                    }
                }
            }
            Op::CloseSession { client } => {
                if let Some(c) = m.clients[client].take() {
                    h.server.handle_conn_closed(h.now, c.conn);
                    h.drain();
                }
            }
            Op::Advance { ms } => h.advance(Duration::from_millis(ms)),
        }
        m.settle(&mut h);
        // Sessions closed by the server (connect timeout) leave the model too.
        for c in m.clients.iter_mut() {
            if c.as_ref().is_some_and(|c| h.closed.contains(&c.conn)) {
                *c = None;
            }
        }
        m.check(&h);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn no_state_outlives_its_socket(ops in proptest::collection::vec(op(), 1..40)) {
        run_ops(ops);
    }
}

#[test]
fn websocket_protocol_violation_is_a_transport_error() {
    let mut h = Harness::new(config());
    let (client, socket) = h.connected("/");
    // A client frame without a mask.
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, OpCode::Text, b"42[\"x\"]", None);
    h.server.handle_ws_data(h.now, client.conn, &out);
    h.drain();
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(socket, DisconnectReason::TransportError)]
    );
    assert_eq!(h.server.engine().session_count(), 0);
}

#[test]
fn second_connect_to_a_joined_namespace_closes_the_session() {
    let mut h = Harness::new(config());
    let (client, main) = h.connected("/");
    client.send(&mut h, "0");
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(main, DisconnectReason::ForcedServerClose)]
    );
    assert_eq!(h.server.engine().session_count(), 0);
}

#[test]
fn engine_stats_count_sessions_packets_and_closes() {
    use sio_core::engine::CloseReason;
    let mut h = Harness::new(config());
    let sid = open_polling(&mut h);
    assert_eq!(h.server.engine().stats().opened_polling, 1);
    assert_eq!(h.server.engine().stats().polling_sessions, 1);
    let (a, sa) = h.connected("/");
    let stats = *h.server.engine().stats();
    assert_eq!(stats.opened_websocket, 1);
    // The CONNECT was one message in; its answer one out.
    assert_eq!((stats.packets_in, stats.packets_out), (1, 1));
    a.send(&mut h, "2[\"hi\"]");
    h.server
        .emit(h.now, sa, json("[\"yo\",1]"), vec![], None)
        .unwrap();
    h.drain();
    let stats = *h.server.engine().stats();
    assert_eq!(stats.packets_in, 2);
    assert_eq!(
        stats.bytes_in,
        1 + "2[\"hi\"]".len() as u64,
        "`0` and the event"
    );
    assert_eq!(stats.packets_out, 2);
    // Each counted as its frame: the `4` of Engine.IO and the packet.
    let connect_ok = stats.bytes_out - "42[\"yo\",1]".len() as u64;
    assert!(connect_ok > "40{\"sid\":\"\"}".len() as u64, "{stats:?}");
    h.server.handle_conn_closed(h.now, a.conn);
    h.drain();
    let stats = *h.server.engine().stats();
    assert_eq!(stats.closed_with(CloseReason::TransportClose), 1);
    assert_eq!(stats.backlog_drops, 0);
    // The polling session sends `1`: it closes, and leaves the polling count.
    polling(&mut h, Method::Post, &sid, b"1");
    let stats = *h.server.engine().stats();
    assert_eq!(stats.closed_with(CloseReason::TransportClose), 2);
    assert_eq!(stats.polling_sessions, 0);
}

#[test]
fn room_events_only_when_asked_and_only_for_changes() {
    let mut h = Harness::new(config());
    let (_a, sa) = h.connected("/");
    h.take_events();
    h.server.join(sa, "quiet").unwrap();
    h.drain();
    assert!(h.take_events().is_empty(), "off by default");
    h.server.set_observer_events(true);
    h.server.join(sa, "news").unwrap();
    h.server.join(sa, "news").unwrap();
    h.server.leave(sa, "news").unwrap();
    h.server.leave(sa, "news").unwrap();
    h.drain();
    let events = h.take_events();
    assert_eq!(
        events,
        vec![
            Event::RoomJoined {
                socket: sa,
                nsp: "/".into(),
                room: "news".into()
            },
            Event::RoomLeft {
                socket: sa,
                nsp: "/".into(),
                room: "news".into()
            },
        ]
    );
}

#[test]
fn room_index_reports_rooms_created_and_deleted_when_asked() {
    let mut h = Harness::new(config());
    let (_q, sq) = h.connected("/");
    h.server.join(sq, "quiet").unwrap();
    h.drain();
    let rooms = |events: Vec<Event>| -> Vec<Event> {
        events
            .into_iter()
            .filter(|e| matches!(e, Event::RoomCreated { .. } | Event::RoomDeleted { .. }))
            .collect()
    };
    assert!(rooms(h.take_events()).is_empty(), "off by default");
    let (_a, sa) = h.connected("/");
    let (_b, sb) = h.connected("/");
    h.server.set_room_events(true);
    let (sid_a, sid_b) = (
        h.server.socket_sid(sa).unwrap().to_owned(),
        h.server.socket_sid(sb).unwrap().to_owned(),
    );
    h.server.join(sa, "news").unwrap();
    h.server.join(sb, "news").unwrap();
    h.server.leave(sa, "news").unwrap();
    h.server.leave(sa, "nowhere").unwrap();
    // A room named like another socket's id exists already: nothing.
    h.server.join(sa, &sid_b).unwrap();
    h.server.leave(sb, "news").unwrap();
    // Once b left its own room, a makes it again: still private (it is
    // b's id, as the reference's `sids.has(room)` says).
    h.server.leave(sb, &sid_b).unwrap();
    h.server.leave(sa, &sid_b).unwrap();
    h.server.join(sa, &sid_b).unwrap();
    // Same length, no socket's id: public.
    let lookalike: String = sid_b.chars().rev().collect();
    h.server.join(sa, &lookalike).unwrap();
    // A socket's own room, left and joined again: private.
    h.server.leave(sa, &sid_a).unwrap();
    h.server.join(sa, &sid_a).unwrap();
    h.drain();
    let created = |room: &str, private: bool| Event::RoomCreated {
        nsp: "/".into(),
        room: room.into(),
        private,
    };
    let deleted = |room: &str| Event::RoomDeleted {
        nsp: "/".into(),
        room: room.into(),
    };
    assert_eq!(
        rooms(h.take_events()),
        vec![
            created("news", false),
            deleted("news"),
            deleted(&sid_b),
            created(&sid_b, true),
            created(&lookalike, false),
            deleted(&sid_a),
            created(&sid_a, true),
        ]
    );
    // A socket leaving takes its emptied rooms with it, its own included.
    h.server.join(sb, "solo").unwrap();
    h.server.disconnect(h.now, sb).unwrap();
    h.drain();
    let events = rooms(h.take_events());
    assert_eq!(events[0], created("solo", false));
    let mut gone = events[1..].to_vec();
    gone.sort_by_key(|e| format!("{e:?}"));
    let mut expected = vec![deleted("solo")];
    // sid_b's room still holds a.
    expected.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(gone, expected);
    h.server.disconnect(h.now, sa).unwrap();
    h.drain();
    let mut gone = rooms(h.take_events());
    gone.sort_by_key(|e| format!("{e:?}"));
    let mut expected = vec![deleted(&sid_a), deleted(&sid_b), deleted(&lookalike)];
    expected.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(gone, expected);
}

// ----- the MessagePack parser -----

fn msgpack_config() -> Config {
    let mut config = config();
    config.parser = sio_core::packet::ParserKind::MsgPack;
    config
}

fn msgpack(packet: &sio_core::packet::Packet) -> Vec<u8> {
    sio_core::packet::encode_msgpack(packet)
}

/// The packets of binary messages received.
fn msgpack_packets(client: &mut Client, h: &mut Harness) -> Vec<sio_core::packet::Packet> {
    client
        .recv(h)
        .into_iter()
        .map(|r| match r {
            Recv::Binary(data) => {
                sio_core::packet::decode_msgpack(&Bytes::from(data), &Default::default())
                    .expect("the server's MessagePack")
            }
            other => panic!("expected a binary message, got {other:?}"),
        })
        .collect()
}

/// A WebSocket client joined to `/` over MessagePack.
fn msgpack_connected(h: &mut Harness) -> (Client, SocketId) {
    use sio_core::packet::Packet;
    let mut client = h.ws_client();
    client.send_binary(h, &msgpack(&Packet::connect("/", None)));
    let (request, _) = h.only_connect_request();
    let now = h.now;
    let socket = h.server.accept(now, request).expect("accept");
    h.drain();
    h.take_events();
    let sid = h.server.socket_sid(socket).expect("sid").to_string();
    let reply = Packet::connect("/", Some(json(&format!("{{\"sid\":\"{sid}\"}}"))));
    assert_eq!(msgpack_packets(&mut client, h), vec![reply]);
    (client, socket)
}

#[test]
fn msgpack_events_acks_and_broadcasts_are_one_binary_message_each() {
    use sio_core::packet::Packet;
    let mut h = Harness::new(msgpack_config());
    let (mut a, sa) = msgpack_connected(&mut h);
    let (mut b, sb) = msgpack_connected(&mut h);

    // An event with a buffer inline, asking for an ack.
    let data = json("[\"up\",{\"_placeholder\":true,\"num\":0}]");
    let event = Packet::event("/", data.clone(), vec![Bytes::from_static(&[1, 2])]).with_id(7);
    a.send_binary(&mut h, &msgpack(&event));
    assert_eq!(
        h.take_events(),
        vec![Event::Event {
            socket: sa,
            data,
            attachments: vec![Bytes::from_static(&[1, 2])],
            ack: Some(7),
        }]
    );
    let reply = json("[{\"_placeholder\":true,\"num\":0},2.5]");
    h.server
        .ack(h.now, sa, 7, reply.clone(), vec![Bytes::from_static(b"ok")])
        .unwrap();
    h.drain();
    assert_eq!(
        msgpack_packets(&mut a, &mut h),
        vec![Packet::ack("/", 7, reply, vec![Bytes::from_static(b"ok")])]
    );

    // A broadcast: the same buffer for both recipients.
    h.server.join(sa, "r").unwrap();
    h.server.join(sb, "r").unwrap();
    let opts = BroadcastOptions {
        rooms: vec!["r".into()],
        ..Default::default()
    };
    let news = json("[\"news\",{\"_placeholder\":true,\"num\":0}]");
    let sent = h.server.broadcast(
        h.now,
        "/",
        &opts,
        news.clone(),
        vec![Bytes::from_static(&[9])],
    );
    h.drain();
    assert_eq!(sent, 2);
    let (ra, rb) = (a.raw(&mut h), b.raw(&mut h));
    assert_eq!(ra.len(), 1);
    assert_eq!(
        ra[0].as_ptr(),
        rb[0].as_ptr(),
        "one encoding for every recipient"
    );
    assert_eq!(
        a.decode(&ra),
        vec![Recv::Binary(msgpack(&Packet::event(
            "/",
            news,
            vec![Bytes::from_static(&[9])]
        )))]
    );
    b.decode(&rb);

    // A text message is a parse error, as for the reference parser.
    b.send(&mut h, "2[\"json\"]");
    assert_eq!(
        disconnects(&h.take_events()),
        vec![(sb, DisconnectReason::ParseError)]
    );
}

#[test]
fn an_emptied_child_namespace_is_removed_when_asked_and_made_again() {
    for cleanup in [false, true] {
        let mut config = config();
        config.cleanup_empty_child_namespaces = cleanup;
        let mut h = Harness::new(config);
        h.server.set_dynamic_namespaces(true);
        h.server.add_namespace("/fixed").unwrap();
        let mut client = h.ws_client();
        let mut other = h.ws_client();
        let a = client.join(&mut h, "/room-1");
        let b = other.join(&mut h, "/room-1");
        let fixed = client.join(&mut h, "/fixed");
        client.send(&mut h, "1/fixed,");
        assert_eq!(
            disconnects(&h.take_events()),
            vec![(fixed, DisconnectReason::ClientNamespaceDisconnect)]
        );
        // A namespace the application added stays, empty or not.
        assert!(h.server.has_namespace("/fixed"));
        h.server.disconnect(h.now, a).unwrap();
        h.drain();
        assert_eq!(disconnects(&h.take_events()).len(), 1);
        assert!(h.server.has_namespace("/room-1"), "one socket is left");
        h.server.disconnect(h.now, b).unwrap();
        h.drain();
        let events = h.take_events();
        assert_eq!(disconnects(&events).len(), 1);
        let removed: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::NamespaceRemoved { nsp } => Some(nsp.to_string()),
                _ => None,
            })
            .collect();
        if cleanup {
            assert_eq!(removed, ["/room-1"]);
            assert!(!h.server.has_namespace("/room-1"));
        } else {
            assert!(removed.is_empty());
            assert!(h.server.has_namespace("/room-1"));
        }
        client.packets(&mut h);
        // The next client makes it again, as a dynamic namespace.
        client.send(&mut h, "0/room-1,");
        match h.take_events().as_slice() {
            [Event::ConnectRequest { dynamic, .. }] => assert_eq!(*dynamic, cleanup),
            other => panic!("{other:?}"),
        }
    }
}
