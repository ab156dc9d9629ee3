//! The Engine.IO server state machine, driven through its public API with a
//! simulated clock. WebSocket client frames are built with the frame codec
//! (masked), and the server's frames are read back with a client decoder.

use std::sync::Arc;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rand_core::{RngCore, SeedableRng};
use sio_core::engine::{
    AllowedOrigins, CloseReason, Config, ConnId, ConnectionError, Cookie, Cors, EngineEvent,
    EngineServer, Io, OutMessage, Output, Packet, RefusalContext, SessionId, Transport,
};
use sio_core::wire::http::{self, Header, HttpError, Method, Request, RequestParser, Response};
use sio_core::wire::ws::frame::{
    encode_frame, server_frame, CloseFrame, Decoder, Limits, Message, OpCode, Role,
};
use sio_core::Instant;

const SEED: [u8; 32] = [42; 32];
const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// ---------------------------------------------------------------- helpers

fn request(method: Method, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    Request {
        method,
        target: target.to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| Header {
                name: n.to_ascii_lowercase(),
                value: v.to_string(),
            })
            .collect(),
        body: Bytes::copy_from_slice(body),
        keep_alive: true,
    }
}

fn target(query: &str) -> String {
    format!("/socket.io/?{query}")
}

fn get(query: &str) -> Request {
    request(Method::Get, &target(query), &[("host", "localhost")], b"")
}

fn post(query: &str, body: &[u8]) -> Request {
    request(
        Method::Post,
        &target(query),
        &[
            ("host", "localhost"),
            ("content-type", "text/plain;charset=UTF-8"),
        ],
        body,
    )
}

fn ws_request(query: &str) -> Request {
    request(
        Method::Get,
        &target(query),
        &[
            ("host", "localhost"),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-key", WS_KEY),
            ("sec-websocket-version", "13"),
        ],
        b"",
    )
}

/// A masked client text frame.
fn client_text(text: &str) -> Vec<u8> {
    client_frame(OpCode::Text, text.as_bytes())
}

fn client_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, opcode, payload, Some([1, 2, 3, 4]));
    out.to_vec()
}

/// Every message in `data`, as a client reads server frames.
fn read_frames(data: &[u8]) -> Vec<Message> {
    let mut decoder = Decoder::new(Role::Client, Limits::default());
    decoder.feed(data);
    let mut out = Vec::new();
    while let Some(msg) = decoder.poll_message().expect("server frames decode") {
        out.push(msg);
    }
    assert!(decoder.is_idle(), "no partial frame left");
    out
}

fn text(msg: &Message) -> &str {
    match msg {
        Message::Text(t) => t,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// A server under a simulated clock, with the outputs drained after each input.
struct Harness {
    server: EngineServer,
    now: Instant,
    next_conn: u64,
    out: Vec<Output>,
    /// Refused requests' reports, kept apart from the other outputs.
    refused: Vec<ConnectionError>,
    timeout: Option<Instant>,
}

impl Harness {
    fn new(config: Config) -> Self {
        Harness {
            server: EngineServer::new(config, SEED),
            now: Instant::ZERO,
            next_conn: 1,
            out: Vec::new(),
            refused: Vec::new(),
            timeout: None,
        }
    }

    fn default() -> Self {
        Harness::new(Config::default())
    }

    fn conn(&mut self) -> ConnId {
        self.next_conn += 1;
        ConnId(self.next_conn)
    }

    fn drain(&mut self) {
        loop {
            match self.server.poll_output() {
                Output::Timeout(t) => {
                    self.timeout = t;
                    return;
                }
                Output::Event(EngineEvent::ConnectionError(error)) => self.refused.push(*error),
                other => self.out.push(other),
            }
        }
    }

    fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    fn request(&mut self, req: Request) -> ConnId {
        let conn = self.conn();
        self.server.handle_request(self.now, conn, req);
        self.drain();
        conn
    }

    fn ws_data(&mut self, conn: ConnId, data: &[u8]) {
        self.server.handle_ws_data(self.now, conn, data);
        self.drain();
    }

    fn advance_to(&mut self, ms: u64) {
        self.now = Instant::from_millis(ms);
        self.server.handle_timeout(self.now);
        self.drain();
    }

    fn send(&mut self, session: SessionId, text: &str) {
        self.server
            .send(session, &OutMessage::text(text))
            .expect("open session");
        self.drain();
    }

    /// The response to `conn` among the outputs taken, removing it.
    /// The requests answered so far, in the order of their answers.
    fn responded_order(&self) -> Vec<ConnId> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Io(Io::Respond { conn, .. }) => Some(*conn),
                _ => None,
            })
            .collect()
    }

    fn response(&mut self, conn: ConnId) -> Option<Response> {
        let pos = self
            .out
            .iter()
            .position(|o| matches!(o, Output::Io(Io::Respond { conn: c, .. }) if *c == conn))?;
        match self.out.remove(pos) {
            Output::Io(Io::Respond { response, .. }) => Some(*response),
            _ => unreachable!(),
        }
    }

    fn events(&mut self) -> Vec<EngineEvent> {
        let mut events = Vec::new();
        self.out.retain(|o| match o {
            Output::Event(e) => {
                events.push(e.clone());
                false
            }
            _ => true,
        });
        events
    }

    /// Bytes transmitted on `conn` (removed), and whether it was closed.
    fn transmitted(&mut self, conn: ConnId) -> (Vec<u8>, bool) {
        let mut data = Vec::new();
        let mut closed = false;
        self.out.retain(|o| match o {
            Output::Io(Io::Transmit { conn: c, data: d }) if *c == conn => {
                data.extend_from_slice(d);
                false
            }
            Output::Io(Io::Close { conn: c }) if *c == conn => {
                closed = true;
                false
            }
            _ => true,
        });
        (data, closed)
    }

    /// A polling handshake: the session and its sid.
    fn open_polling(&mut self) -> (SessionId, String) {
        let conn = self.request(get("EIO=4&transport=polling"));
        let response = self.response(conn).expect("handshake answered");
        assert_eq!(response.status, 200);
        let body = std::str::from_utf8(&response.body).unwrap().to_string();
        let sid = sid_of(&body);
        let session = match self.events().as_slice() {
            [EngineEvent::Opened { session }] => *session,
            other => panic!("expected Opened, got {other:?}"),
        };
        assert!(self.out.is_empty(), "left over: {:?}", self.out);
        (session, sid)
    }

    /// A WebSocket handshake: the session, its sid and the connection.
    fn open_websocket(&mut self) -> (SessionId, String, ConnId) {
        let conn = self.request(ws_request("EIO=4&transport=websocket"));
        assert!(matches!(
            self.out.first(),
            Some(Output::Io(Io::Upgrade { conn: c, response })) if *c == conn && response.status == 101
        ));
        self.out.remove(0);
        let (data, closed) = self.transmitted(conn);
        assert!(!closed);
        let frames = read_frames(&data);
        let open = text(&frames[0]).to_string();
        let session = match self.events().as_slice() {
            [EngineEvent::Opened { session }] => *session,
            other => panic!("expected Opened, got {other:?}"),
        };
        assert!(self.out.is_empty());
        (session, sid_of(&open), conn)
    }

    fn poll(&mut self, sid: &str) -> ConnId {
        self.request(get(&format!("EIO=4&transport=polling&sid={sid}")))
    }

    fn post(&mut self, sid: &str, body: &[u8]) -> ConnId {
        self.request(post(&format!("EIO=4&transport=polling&sid={sid}"), body))
    }

    /// Asserts the whole server holds nothing.
    fn assert_empty(&mut self) {
        self.drain();
        assert_eq!(self.server.session_count(), 0);
        let footprint = self.server.footprint();
        assert_eq!(footprint.sessions, 0, "{footprint:?}");
        assert_eq!(footprint.connections, 0, "{footprint:?}");
        assert_eq!(footprint.timer_entries, 0, "{footprint:?}");
    }
}

fn sid_of(open: &str) -> String {
    let start = open.find("\"sid\":\"").expect("sid key") + 7;
    open[start..start + 20].to_string()
}

fn body(response: &Response) -> &str {
    std::str::from_utf8(&response.body).unwrap()
}

fn closed(session: SessionId, reason: CloseReason) -> EngineEvent {
    EngineEvent::Closed { session, reason }
}

fn message(session: SessionId, text: &str) -> EngineEvent {
    EngineEvent::Message {
        session,
        packet: Packet::Message(text.into()),
    }
}

fn assert_refused(response: &Response, status: u16, json: &str) {
    assert_eq!(response.status, status);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(body(response), json);
}

// ---------------------------------------------------------------- handshakes

#[test]
fn polling_handshake_byte_for_byte() {
    let mut h = Harness::default();
    let conn = h.request(get("EIO=4&transport=polling&t=N8hyd6w"));
    let response = h.response(conn).unwrap();

    // The sid: 15 bytes of the seeded ChaCha20 stream in URL-safe base64.
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(SEED);
    let mut raw = [0u8; 15];
    rng.fill_bytes(&mut raw);
    let sid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    assert_eq!(sid.len(), 20);

    let expected_body = format!(
        "0{{\"sid\":\"{sid}\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    let expected = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\ncache-control: no-store\r\nContent-Length: {}\r\n\r\n{expected_body}",
        expected_body.len()
    );
    assert_eq!(std::str::from_utf8(&response.to_bytes()).unwrap(), expected);

    let events = h.events();
    let session = match events.as_slice() {
        [EngineEvent::Opened { session }] => *session,
        other => panic!("{other:?}"),
    };
    let info = h.server.handshake(session).unwrap();
    assert_eq!(info.sid, sid.as_str());
    assert_eq!(info.url, "/socket.io/?EIO=4&transport=polling&t=N8hyd6w");
    assert_eq!(info.transport, Transport::Polling);
    assert_eq!(info.issued, Instant::ZERO);
    assert_eq!(h.server.transport(session), Some(Transport::Polling));
    assert_eq!(h.server.session_count(), 1);
    // The first ping is one interval away.
    assert_eq!(h.timeout, Some(Instant::from_millis(25_000)));
}

#[test]
fn handshake_without_upgrades_and_with_cookie() {
    let mut config = Config::default();
    config.allow_upgrades = false;
    config.cookie = Some(Cookie::default());
    let mut h = Harness::new(config);
    let conn = h.request(get("EIO=4&transport=polling"));
    let response = h.response(conn).unwrap();
    let sid = sid_of(body(&response));
    assert!(body(&response).contains("\"upgrades\":[]"));
    assert_eq!(
        response.header("set-cookie"),
        Some(format!("io={sid}; Path=/; HttpOnly; SameSite=Lax").as_str())
    );
    // Later requests of the session get no cookie.
    let conn = h.post(&sid, b"4x");
    assert_eq!(h.response(conn).unwrap().header("set-cookie"), None);
}

#[test]
fn websocket_handshake() {
    let mut h = Harness::default();
    let conn = h.request(ws_request("EIO=4&transport=websocket"));
    match h.out.remove(0) {
        Output::Io(Io::Upgrade { conn: c, response }) => {
            assert_eq!(c, conn);
            assert_eq!(response.status, 101);
            assert_eq!(response.header("sec-websocket-accept"), Some(WS_ACCEPT));
        }
        other => panic!("{other:?}"),
    }
    let (data, closed) = h.transmitted(conn);
    assert!(!closed);
    let frames = read_frames(&data);
    assert_eq!(frames.len(), 1);
    let open = text(&frames[0]);
    let sid = sid_of(open);
    assert_eq!(
        open,
        format!("0{{\"sid\":\"{sid}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}")
    );
    let session = match h.events().as_slice() {
        [EngineEvent::Opened { session }] => *session,
        other => panic!("{other:?}"),
    };
    assert_eq!(h.server.transport(session), Some(Transport::WebSocket));
    assert!(h.out.is_empty());
}

#[test]
fn websocket_handshake_with_bad_headers_is_refused() {
    let mut h = Harness::default();
    let mut req = ws_request("EIO=4&transport=websocket");
    req.headers.retain(|hd| hd.name != "sec-websocket-key");
    let conn = h.request(req);
    let response = h.response(conn).unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(body(&response), "Bad Request");
    assert_eq!(h.take(), vec![Output::Io(Io::Close { conn })]);
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn every_refusal_with_its_exact_body() {
    let mut config = Config::default();
    config.polling = true;
    let mut h = Harness::new(config);
    let cases: Vec<(Request, u16, &str)> = vec![
        (
            get("transport=polling"),
            400,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            get("EIO=3&transport=polling"),
            400,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            get("EIO=abc&transport=polling"),
            400,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            get("EIO=4"),
            400,
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            get("EIO=4&transport=flash"),
            400,
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            get("EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA"),
            400,
            r#"{"code":1,"message":"Session ID unknown"}"#,
        ),
        (
            post("EIO=4&transport=polling", b"4x"),
            400,
            r#"{"code":2,"message":"Bad handshake method"}"#,
        ),
        (
            request(Method::Put, &target("EIO=4&transport=polling"), &[], b""),
            400,
            r#"{"code":2,"message":"Bad handshake method"}"#,
        ),
        (
            get("EIO=4&transport=websocket"),
            400,
            r#"{"code":3,"message":"Bad request"}"#,
        ),
        (
            request(
                Method::Get,
                &target("EIO=4&transport=polling"),
                &[("origin", "http://a\u{7f}")],
                b"",
            ),
            400,
            r#"{"code":3,"message":"Bad request"}"#,
        ),
        // Without CORS configured, a preflight is just a handshake that is not a GET.
        (
            request(
                Method::Options,
                &target("EIO=4&transport=polling"),
                &[],
                b"",
            ),
            400,
            r#"{"code":2,"message":"Bad handshake method"}"#,
        ),
    ];
    for (req, status, json) in cases {
        let what = req.target.clone();
        let method = req.method.clone();
        let conn = h.request(req);
        let response = h
            .response(conn)
            .unwrap_or_else(|| panic!("{what} answered"));
        assert_refused(&response, status, json);
        // Each is reported, as Node's `connection_error`, with its code.
        let refused = std::mem::take(&mut h.refused);
        let [error] = refused.as_slice() else {
            panic!("{what}: {refused:?}");
        };
        assert!(
            json.starts_with(&format!(r#"{{"code":{},"#, error.code)),
            "{what}"
        );
        assert!(json.contains(error.message), "{what}");
        assert_eq!((&*error.url, &error.method), (&*what, &method));
        assert!(h.out.is_empty(), "{what}: {:?}", h.out);
    }
    assert_eq!(h.server.session_count(), 0);

    // forbid() answers 403, with the application's message if it gave one.
    let conn = h.conn();
    let req = get("EIO=4&transport=polling");
    assert!(h.server.is_checked_handshake(&req));
    h.server.forbid(h.now, conn, &req, None);
    h.drain();
    assert_refused(
        &h.response(conn).unwrap(),
        403,
        r#"{"code":4,"message":"Forbidden"}"#,
    );
    let conn = h.conn();
    h.server.forbid(h.now, conn, &req, Some("no \"guests\""));
    h.drain();
    assert_refused(
        &h.response(conn).unwrap(),
        403,
        r#"{"code":4,"message":"no \"guests\""}"#,
    );
    let contexts: Vec<_> = std::mem::take(&mut h.refused)
        .into_iter()
        .map(|e| (e.code, e.message, e.context))
        .collect();
    assert_eq!(
        contexts,
        [
            (4, "Forbidden", RefusalContext::Forbidden { message: None }),
            (
                4,
                "Forbidden",
                RefusalContext::Forbidden {
                    message: Some("no \"guests\"".into())
                }
            ),
        ]
    );

    // Only a handshake that passes every check goes to the application.
    for query in [
        "EIO=4&transport=flash",
        "EIO=3&transport=polling",
        "EIO=4&transport=websocket",
    ] {
        assert!(!h.server.is_checked_handshake(&get(query)), "{query}");
    }
    assert!(!h
        .server
        .is_checked_handshake(&get("EIO=4&transport=polling&sid=x")));
    assert!(h
        .server
        .is_checked_handshake(&ws_request("EIO=4&transport=websocket")));
    assert!(!h
        .server
        .is_checked_handshake(&ws_request("EIO=4&transport=polling")));

    // A forbidden upgrade request: the plain 400 with the message, closed.
    let conn = h.conn();
    h.server.forbid(
        h.now,
        conn,
        &ws_request("EIO=4&transport=websocket"),
        Some("go away"),
    );
    h.drain();
    let response = h.response(conn).unwrap();
    assert_eq!((response.status, body(&response)), (400, "go away"));
    h.refused.clear();
    assert_eq!(h.take(), vec![Output::Io(Io::Close { conn })]);

    // An upgrade request with a bad query gets the reference's plain 400.
    let conn = h.request(ws_request("EIO=4&transport=flash"));
    let response = h.response(conn).unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(body(&response), "Transport unknown");
    assert_eq!(response.header("connection"), Some("close"));
    let refused = std::mem::take(&mut h.refused);
    assert!(
        matches!(&refused[..], [e] if e.context == RefusalContext::UnknownTransport { transport: Some("flash".into()) }),
        "{refused:?}"
    );
    assert_eq!(h.take(), vec![Output::Io(Io::Close { conn })]);
    let conn = h.request(ws_request("EIO=4&transport=websocket&sid=nope"));
    assert_eq!(body(&h.response(conn).unwrap()), "Session ID unknown");

    // A disabled transport is unknown.
    let mut config = Config::default();
    config.polling = false;
    let mut h = Harness::new(config);
    let conn = h.request(get("EIO=4&transport=polling"));
    assert_refused(
        &h.response(conn).unwrap(),
        400,
        r#"{"code":0,"message":"Transport unknown"}"#,
    );
}

#[test]
fn matches_the_configured_path() {
    let h = Harness::default();
    assert!(h.server.matches(&get("EIO=4")));
    assert!(h
        .server
        .matches(&request(Method::Get, "/socket.io?EIO=4", &[], b"")));
    assert!(!h
        .server
        .matches(&request(Method::Get, "/other/?EIO=4", &[], b"")));
    assert!(!h
        .server
        .matches(&request(Method::Get, "/socket.iox", &[], b"")));
}

// ---------------------------------------------------------------- CORS

#[test]
fn cors_any_origin() {
    let mut config = Config::default();
    config.cors = Some(Cors::new(AllowedOrigins::Any));
    let mut h = Harness::new(config);
    let conn = h.request(request(
        Method::Get,
        &target("EIO=4&transport=polling"),
        &[("origin", "http://app.test")],
        b"",
    ));
    let response = h.response(conn).unwrap();
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(response.header("vary"), None);
    // Error responses carry them too.
    let conn = h.request(get("EIO=3&transport=polling"));
    let response = h.response(conn).unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn cors_list_and_credentials() {
    let mut cors = Cors::new(AllowedOrigins::List(vec!["http://ok.test".into()]));
    cors.credentials = true;
    let mut config = Config::default();
    config.cors = Some(cors);
    let mut h = Harness::new(config);
    let with_origin = |origin: &str| {
        request(
            Method::Get,
            &target("EIO=4&transport=polling"),
            &[("origin", origin)],
            b"",
        )
    };
    let conn = h.request(with_origin("http://ok.test"));
    let response = h.response(conn).unwrap();
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://ok.test")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(response.header("vary"), Some("Origin"));

    let conn = h.request(with_origin("http://evil.test"));
    let response = h.response(conn).unwrap();
    assert_eq!(response.header("access-control-allow-origin"), None);
    assert_eq!(response.header("vary"), Some("Origin"));

    // Any with credentials mirrors the origin.
    let mut cors = Cors::new(AllowedOrigins::Predicate(Arc::new(|o| {
        o.ends_with(".test")
    })));
    cors.credentials = true;
    let mut config = Config::default();
    config.cors = Some(cors);
    let mut h2 = Harness::new(config);
    let conn = h2.request(with_origin("http://x.test"));
    let response = h2.response(conn).unwrap();
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://x.test")
    );
}

#[test]
fn cors_preflight() {
    let mut cors = Cors::new(AllowedOrigins::Any);
    cors.max_age = Some(600);
    let mut config = Config::default();
    config.cors = Some(cors);
    let mut h = Harness::new(config);
    let conn = h.request(request(
        Method::Options,
        &target("EIO=4&transport=polling"),
        &[
            ("origin", "http://app.test"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        b"",
    ));
    let response = h.response(conn).unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(
        response.headers,
        vec![
            ("Access-Control-Allow-Origin".into(), "*".to_string()),
            (
                "Access-Control-Allow-Methods".into(),
                "GET,HEAD,PUT,PATCH,POST,DELETE".to_string()
            ),
            (
                "Access-Control-Allow-Headers".into(),
                "content-type".to_string()
            ),
            ("Access-Control-Max-Age".into(), "600".to_string()),
            ("Vary".into(), "Access-Control-Request-Headers".to_string()),
        ]
    );
    assert!(response.body.is_empty());
    assert_eq!(h.server.session_count(), 0);
}

// ---------------------------------------------------------------- heartbeat

#[test]
fn ping_at_interval_and_timeout_exactly() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    assert!(h.out.is_empty());

    h.advance_to(24_999);
    assert!(h.out.is_empty());
    h.advance_to(25_000);
    assert_eq!(body(&h.response(get).unwrap()), "2");
    assert_eq!(h.timeout, Some(Instant::from_millis(45_000)));

    let get = h.poll(&sid);
    h.advance_to(44_999);
    assert!(h.out.is_empty());
    h.advance_to(45_000);
    // The held GET learns of the close.
    assert_eq!(body(&h.response(get).unwrap()), "1");
    assert_eq!(h.events(), vec![closed(session, CloseReason::PingTimeout)]);
    assert!(h.out.is_empty());

    let conn = h.poll(&sid);
    assert_refused(
        &h.response(conn).unwrap(),
        400,
        r#"{"code":1,"message":"Session ID unknown"}"#,
    );
    h.assert_empty();
}

#[test]
fn a_request_at_the_pong_deadline_finds_the_session_gone() {
    // The driver's timer may wake late: an input at or past a deadline
    // must not see the session (no handle_timeout in between here).
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    h.advance_to(25_000);
    h.now = Instant::from_millis(45_000);
    let get = h.poll(&sid);
    assert_refused(
        &h.response(get).unwrap(),
        400,
        r#"{"code":1,"message":"Session ID unknown"}"#,
    );
    assert_eq!(h.events(), vec![closed(session, CloseReason::PingTimeout)]);
    h.assert_empty();

    // Same for a POST and for WebSocket data.
    let (session, sid) = h.open_polling();
    h.advance_to(70_000);
    h.now = Instant::from_millis(90_000);
    let post = h.post(&sid, b"3");
    assert_eq!(h.response(post).unwrap().status, 400);
    assert_eq!(h.events(), vec![closed(session, CloseReason::PingTimeout)]);
    let (session, _, ws) = h.open_websocket();
    h.server.handle_flushed(h.now, ws);
    h.advance_to(115_000);
    h.out.clear();
    h.now = Instant::from_millis(135_000);
    h.ws_data(ws, &client_text("3"));
    assert_eq!(h.events(), vec![closed(session, CloseReason::PingTimeout)]);
}

#[test]
fn a_server_closed_polling_session_is_gone_at_its_pong_deadline() {
    // Closed by the server while a ping waits for its pong: as the
    // reference, the pong deadline still ends it, and later GETs get 400
    // rather than the lingering packets.
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    h.advance_to(25_001);
    h.now = Instant::from_millis(45_000);
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    assert_eq!(h.events(), vec![closed(session, CloseReason::ForcedClose)]);
    h.now = Instant::from_millis(45_001);
    let get = h.poll(&sid);
    assert_refused(
        &h.response(get).unwrap(),
        400,
        r#"{"code":1,"message":"Session ID unknown"}"#,
    );
    assert!(h.events().is_empty());
    h.assert_empty();
}

#[test]
fn pong_resets_the_heartbeat() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    h.advance_to(25_000);
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "2");
    h.now = Instant::from_millis(30_000);
    let conn = h.post(&sid, b"3");
    assert_eq!(body(&h.response(conn).unwrap()), "ok");
    // The next ping comes one interval after the pong; no timeout at 45 s.
    assert_eq!(h.timeout, Some(Instant::from_millis(55_000)));
    h.advance_to(45_000);
    assert!(h.out.is_empty());
    assert_eq!(h.server.session_count(), 1);
    h.advance_to(55_000);
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "2");
    h.advance_to(75_000);
    assert_eq!(h.events(), vec![closed(session, CloseReason::PingTimeout)]);
    h.assert_empty();
}

#[test]
fn websocket_ping_pong() {
    let mut h = Harness::default();
    let (session, _sid, conn) = h.open_websocket();
    h.advance_to(25_000);
    let (data, _) = h.transmitted(conn);
    assert_eq!(text(&read_frames(&data)[0]), "2");
    h.now = Instant::from_millis(26_000);
    h.ws_data(conn, &client_text("3"));
    assert!(h.out.is_empty());
    assert_eq!(h.timeout, Some(Instant::from_millis(51_000)));
    h.advance_to(51_000);
    h.transmitted(conn);
    h.advance_to(71_000);
    let (data, closed_conn) = h.transmitted(conn);
    assert!(closed_conn);
    assert!(matches!(read_frames(&data).as_slice(), [Message::Close(_)]));
    assert_eq!(h.events(), vec![closed(session, CloseReason::PingTimeout)]);
    h.assert_empty();
}

// ---------------------------------------------------------------- polling

#[test]
fn held_get_is_answered_when_a_message_is_sent() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    assert!(h.out.is_empty());
    // Back-to-back sends share one response.
    h.server.send(session, &OutMessage::text("a")).unwrap();
    h.server
        .send(session, &OutMessage::binary(&[1, 2, 3]))
        .unwrap();
    h.drain();
    let response = h.response(get).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(body(&response), "4a\x1ebAQID");
    // Queued while no GET is held, taken by the next one.
    h.send(session, "b");
    assert!(h.out.is_empty());
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "4b");
}

#[test]
fn second_concurrent_get_closes_the_session() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let first = h.poll(&sid);
    let second = h.poll(&sid);
    assert_eq!(body(&h.response(first).unwrap()), "1");
    let response = h.response(second).unwrap();
    assert_eq!(response.status, 400);
    assert!(response.body.is_empty());
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    assert!(h.out.is_empty());
    let conn = h.poll(&sid);
    assert_refused(
        &h.response(conn).unwrap(),
        400,
        r#"{"code":1,"message":"Session ID unknown"}"#,
    );
    assert!(h.server.send(session, &OutMessage::text("x")).is_err());
    h.assert_empty();
}

#[test]
fn client_close_releases_held_get_with_noop() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    let conn = h.post(&sid, b"1");
    assert_eq!(body(&h.response(get).unwrap()), "6");
    let response = h.response(conn).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(body(&response), "ok");
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportClose)]
    );
    h.assert_empty();
}

#[test]
fn post_packets_in_order_and_parse_errors() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let conn = h.post(&sid, "4hello\x1ebAQID\x1e4é".as_bytes());
    let events = h.events();
    assert_eq!(
        events,
        vec![
            message(session, "hello"),
            EngineEvent::Message {
                session,
                packet: Packet::Binary(Bytes::from_static(&[1, 2, 3])),
            },
            message(session, "é"),
        ]
    );
    assert_eq!(body(&h.response(conn).unwrap()), "ok");

    // Records before the bad one count; then the session closes; the POST is still ok.
    let get = h.poll(&sid);
    let conn = h.post(&sid, b"4a\x1ex\x1e4b");
    assert_eq!(
        h.events(),
        vec![
            message(session, "a"),
            closed(session, CloseReason::ParseError)
        ]
    );
    assert_eq!(body(&h.response(get).unwrap()), "1");
    assert_eq!(body(&h.response(conn).unwrap()), "ok");
    h.assert_empty();
}

#[test]
fn empty_and_binary_posts_close_the_session() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let conn = h.post(&sid, b"");
    assert_eq!(h.events(), vec![closed(session, CloseReason::ParseError)]);
    assert_eq!(body(&h.response(conn).unwrap()), "ok");

    let (session, sid) = h.open_polling();
    let conn = h.request(request(
        Method::Post,
        &target(&format!("EIO=4&transport=polling&sid={sid}")),
        &[("content-type", "application/octet-stream")],
        b"\x01",
    ));
    assert_eq!(h.response(conn).unwrap().status, 400);
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    h.assert_empty();
}

#[test]
fn oversize_post_gets_413_and_closes_the_session() {
    let mut config = Config::default();
    config.max_http_buffer_size = 10;
    let mut h = Harness::new(config);
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    let conn = h.post(&sid, b"4abcdefghij");
    // The 413 goes out alone: the session fails once it is written (the
    // driver reports the request gone), so the client reads it before the
    // held GET's `1` and reports a transport error, as with the reference.
    assert_eq!(h.responded_order(), vec![conn]);
    let response = h.response(conn).unwrap();
    assert_eq!(response.status, 413);
    assert_eq!(h.events(), vec![]);
    h.server.handle_conn_closed(h.now, conn);
    h.drain();
    // As engine.io 6.6 ("payload too large"): the session closes.
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    // Its held GET is dropped (no `1` that could arrive before the 413).
    assert!(
        h.out.contains(&Output::Io(Io::Abort { conn: get })),
        "{:?}",
        h.out
    );
    assert_eq!(h.response(get), None);
    let conn = h.post(&sid, b"4abcdefghi");
    assert_refused(
        &h.response(conn).unwrap(),
        400,
        r#"{"code":1,"message":"Session ID unknown"}"#,
    );
    h.assert_empty();
}

#[test]
fn a_post_refused_unread_for_its_size_closes_the_session() {
    // The standalone driver's parser refuses an oversize body before it is
    // read; the core hears of it through the head alone.
    let mut config = Config::default();
    config.max_http_buffer_size = 10;
    let mut h = Harness::new(config);
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    let mut parser = RequestParser::new(http::Limits {
        max_body_bytes: 10,
        ..http::Limits::default()
    });
    parser.feed(
        format!(
            "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n\
             Host: localhost\r\nContent-Length: 11\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(parser.poll_request(), Err(HttpError::BodyTooLarge));
    let (head, arrived) = parser.take_refused_head().expect("the refused head");
    assert_eq!(arrived, 0);
    assert!(head.body.is_empty());
    let conn = h.conn();
    h.server.handle_request_too_large(h.now, conn, head);
    h.drain();
    assert_eq!(h.responded_order(), vec![conn]);
    assert_eq!(h.response(conn).unwrap().status, 413);
    h.server.handle_conn_closed(h.now, conn);
    h.drain();
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    // Its held GET is dropped (no `1` that could arrive before the 413).
    assert!(
        h.out.contains(&Output::Io(Io::Abort { conn: get })),
        "{:?}",
        h.out
    );
    assert_eq!(h.response(get), None);
    // Without a session it is a plain 413.
    let conn = h.conn();
    h.server
        .handle_request_too_large(h.now, conn, post("EIO=4&transport=polling", b""));
    h.drain();
    assert_eq!(h.response(conn).unwrap().status, 413);
    h.server.handle_conn_closed(h.now, conn);
    h.assert_empty();
}

#[test]
fn client_ping_is_a_transport_error() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    h.post(&sid, b"2");
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
}

#[test]
fn aborted_held_get_closes_the_session() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    h.server.handle_conn_closed(h.now, get);
    h.drain();
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    assert!(h.out.is_empty());
    h.assert_empty();
}

// ---------------------------------------------------------------- upgrade

#[test]
fn upgrade_happy_path() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);

    let ws = h.request(ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
    match h.out.remove(0) {
        Output::Io(Io::Upgrade { conn, response }) => {
            assert_eq!(conn, ws);
            assert_eq!(response.status, 101);
        }
        other => panic!("{other:?}"),
    }
    // No open packet on the new WebSocket.
    assert!(h.out.is_empty());

    h.ws_data(ws, &client_text("2probe"));
    let (data, _) = h.transmitted(ws);
    assert_eq!(text(&read_frames(&data)[0]), "3probe");
    assert_eq!(body(&h.response(get).unwrap()), "6");
    // Polling is paused: a new GET is answered at once.
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "6");

    // Sent mid-upgrade: stays queued for the WebSocket.
    h.send(session, "mid");
    assert!(h.out.is_empty());

    h.ws_data(ws, &client_text("5"));
    assert_eq!(h.events(), vec![EngineEvent::Upgraded { session }]);
    let (data, _) = h.transmitted(ws);
    let frames = read_frames(&data);
    assert_eq!(frames.len(), 1);
    assert_eq!(text(&frames[0]), "4mid");
    assert!(h.out.is_empty());
    assert_eq!(h.server.transport(session), Some(Transport::WebSocket));

    // Polling with the sid is refused now.
    let conn = h.poll(&sid);
    assert_refused(
        &h.response(conn).unwrap(),
        400,
        r#"{"code":3,"message":"Bad request"}"#,
    );
    let conn = h.post(&sid, b"4x");
    assert_refused(
        &h.response(conn).unwrap(),
        400,
        r#"{"code":3,"message":"Bad request"}"#,
    );

    // The WebSocket carries the session.
    h.send(session, "after");
    let (data, _) = h.transmitted(ws);
    assert_eq!(text(&read_frames(&data)[0]), "4after");
    h.ws_data(ws, &client_text("4hi"));
    assert_eq!(h.events(), vec![message(session, "hi")]);
    assert!(h.out.is_empty());

    // Closing the WebSocket closes the session.
    h.server.handle_conn_closed(h.now, ws);
    h.drain();
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportClose)]
    );
    h.assert_empty();
}

#[test]
fn upgrade_with_probe_and_upgrade_in_one_read() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    h.send(session, "queued");
    let ws = h.request(ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
    h.take();
    let mut data = client_text("2probe");
    data.extend(client_text("5"));
    h.ws_data(ws, &data);
    let (data, _) = h.transmitted(ws);
    let frames: Vec<String> = read_frames(&data)
        .iter()
        .map(|m| text(m).to_string())
        .collect();
    assert_eq!(frames, vec!["3probe", "4queued"]);
    assert_eq!(h.events(), vec![EngineEvent::Upgraded { session }]);
}

#[test]
fn server_close_during_a_probed_upgrade_waits_for_it() {
    // As the reference: the client has paused polling, so the packets and
    // `1` wait for the upgrade and go out on the WebSocket.
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    let ws = h.request(ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
    h.take();
    h.ws_data(ws, &client_text("2probe"));
    let (data, _) = h.transmitted(ws);
    assert_eq!(text(&read_frames(&data)[0]), "3probe");
    assert_eq!(body(&h.response(get).unwrap()), "6");

    h.send(session, "41");
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    assert_eq!(h.events(), vec![closed(session, CloseReason::ForcedClose)]);
    assert_eq!(h.server.session_count(), 0);
    // Nothing goes out until the client finishes the upgrade.
    assert!(h.out.is_empty());

    h.ws_data(ws, &client_text("5"));
    let (data, closed_conn) = h.transmitted(ws);
    let frames = read_frames(&data);
    assert_eq!(text(&frames[0]), "441");
    assert_eq!(text(&frames[1]), "1");
    assert!(matches!(frames[2], Message::Close(_)), "{frames:?}");
    assert!(closed_conn);
    assert_eq!(h.server.footprint().sessions, 0);
    h.assert_empty();
}

#[test]
fn a_poll_after_a_server_close_during_a_probed_upgrade_closes_the_websocket() {
    // The client probed, the server closed the session, and instead of `5`
    // the client polls again: the GET takes the `1`, the session is gone,
    // and so is its WebSocket (found by random_interleavings_keep_the_invariants).
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let ws = h.request(ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
    h.take();
    h.ws_data(ws, &client_text("2probe"));
    h.transmitted(ws);
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    assert_eq!(h.events(), vec![closed(session, CloseReason::ForcedClose)]);
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "1");
    let (data, closed_conn) = h.transmitted(ws);
    assert!(closed_conn);
    assert!(matches!(
        read_frames(&data).as_slice(),
        [Message::Close(None)]
    ));
    h.assert_empty();
}

#[test]
fn upgrade_timeout_closes_the_websocket_and_polling_goes_on() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    h.now = Instant::from_millis(1_000);
    let ws = h.request(ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
    h.take();
    h.ws_data(ws, &client_text("2probe"));
    h.transmitted(ws);
    h.send(session, "kept");
    assert_eq!(h.timeout, Some(Instant::from_millis(11_000)));
    h.advance_to(10_999);
    assert!(h.out.is_empty());
    h.advance_to(11_000);
    let (data, closed_conn) = h.transmitted(ws);
    assert!(closed_conn);
    assert!(matches!(
        read_frames(&data).as_slice(),
        [Message::Close(None)]
    ));
    assert!(h.events().is_empty());
    // Polling resumes with what was queued, delivered once.
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "4kept");
    assert_eq!(h.server.transport(session), Some(Transport::Polling));
    // Data on the dead WebSocket is ignored.
    h.ws_data(ws, &client_text("5"));
    assert!(h.out.is_empty());
}

#[test]
fn unexpected_packet_during_upgrade_aborts_it() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let ws = h.request(ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
    h.take();
    h.ws_data(ws, &client_text("4nope"));
    let (_, closed_conn) = h.transmitted(ws);
    assert!(closed_conn);
    assert!(h.events().is_empty());
    assert_eq!(h.server.transport(session), Some(Transport::Polling));
    assert_eq!(h.server.session_count(), 1);
}

#[test]
fn second_websocket_for_an_upgraded_sid_is_closed() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let ws = h.request(ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
    h.take();
    h.ws_data(ws, &client_text("2probe"));
    h.ws_data(ws, &client_text("5"));
    h.take();

    let second = h.request(ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
    assert!(matches!(h.out.remove(0), Output::Io(Io::Upgrade { conn, .. }) if conn == second));
    let (data, closed_conn) = h.transmitted(second);
    assert!(closed_conn);
    assert!(matches!(read_frames(&data).as_slice(), [Message::Close(_)]));
    assert!(h.out.is_empty());

    // The first keeps working.
    h.send(session, "still");
    let (data, _) = h.transmitted(ws);
    assert_eq!(text(&read_frames(&data)[0]), "4still");
    h.ws_data(second, &client_text("4ignored"));
    assert!(h.out.is_empty());
    h.ws_data(ws, &client_text("4yes"));
    assert_eq!(h.events(), vec![message(session, "yes")]);
}

// ---------------------------------------------------------------- WebSocket

#[test]
fn websocket_frames_split_at_every_position() {
    let mut stream = client_text("4hello");
    stream.extend(client_frame(OpCode::Binary, &[9, 8, 7]));
    stream.extend(client_frame(OpCode::Ping, b"p"));
    stream.extend(client_text("4w\u{f6}rld"));
    for split in 0..=stream.len() {
        let mut h = Harness::default();
        let (session, _, ws) = h.open_websocket();
        let (a, b) = stream.split_at(split);
        h.ws_data(ws, a);
        h.ws_data(ws, b);
        assert_eq!(
            h.events(),
            vec![
                message(session, "hello"),
                EngineEvent::Message {
                    session,
                    packet: Packet::Binary(Bytes::from_static(&[9, 8, 7])),
                },
                message(session, "w\u{f6}rld"),
            ],
            "split at {split}"
        );
        let (data, _) = h.transmitted(ws);
        assert_eq!(
            read_frames(&data),
            vec![Message::Pong(Bytes::from_static(b"p"))]
        );
    }
    // Byte by byte.
    let mut h = Harness::default();
    let (session, _, ws) = h.open_websocket();
    for byte in &stream {
        h.ws_data(ws, std::slice::from_ref(byte));
    }
    assert_eq!(h.events().len(), 3, "{session:?}");
}

#[test]
fn websocket_close_frame_is_echoed() {
    let mut h = Harness::default();
    let (session, _, ws) = h.open_websocket();
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend(b"bye");
    h.ws_data(ws, &client_frame(OpCode::Close, &payload));
    let (data, closed_conn) = h.transmitted(ws);
    assert!(closed_conn);
    assert_eq!(
        read_frames(&data),
        vec![Message::Close(Some(CloseFrame {
            code: 1000,
            reason: String::new()
        }))]
    );
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportClose)]
    );
    h.assert_empty();
}

#[test]
fn websocket_protocol_error_closes_with_its_code() {
    let mut h = Harness::default();
    let (session, _, ws) = h.open_websocket();
    // An unmasked client frame.
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, OpCode::Text, b"4x", None);
    h.ws_data(ws, &out);
    let (data, closed_conn) = h.transmitted(ws);
    assert!(closed_conn);
    assert_eq!(
        read_frames(&data),
        vec![Message::Close(Some(CloseFrame {
            code: 1002,
            reason: String::new()
        }))]
    );
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    h.assert_empty();
}

#[test]
fn websocket_text_that_is_not_a_packet_is_a_parse_error() {
    let mut h = Harness::default();
    let (session, _, ws) = h.open_websocket();
    let mut data = client_text("x");
    data.extend(client_text("4never"));
    h.ws_data(ws, &data);
    let (_, closed_conn) = h.transmitted(ws);
    assert!(closed_conn);
    assert_eq!(h.events(), vec![closed(session, CloseReason::ParseError)]);
    h.assert_empty();
}

#[test]
fn websocket_message_too_large() {
    let mut config = Config::default();
    config.max_http_buffer_size = 8;
    let mut h = Harness::new(config);
    let (session, _, ws) = h.open_websocket();
    h.ws_data(ws, &client_text("4123456789"));
    let (data, _) = h.transmitted(ws);
    assert_eq!(
        read_frames(&data),
        vec![Message::Close(Some(CloseFrame {
            code: 1009,
            reason: String::new()
        }))]
    );
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
}

// ---------------------------------------------------------------- server close

#[test]
fn server_close_flushes_queued_packets_first() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    h.send(session, "a");
    h.send(session, "b");
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    assert_eq!(h.events(), vec![closed(session, CloseReason::ForcedClose)]);
    assert_eq!(h.server.session_count(), 0);
    assert!(h.server.send(session, &OutMessage::text("late")).is_err());
    assert!(h
        .server
        .close(h.now, session, CloseReason::ForcedClose)
        .is_err());
    // As the reference: the packets drain first, `1` comes in the next GET,
    // so the client handles its packets before the transport closes.
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "4a\x1e4b");
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "1");
    let get = h.poll(&sid);
    assert_refused(
        &h.response(get).unwrap(),
        400,
        r#"{"code":1,"message":"Session ID unknown"}"#,
    );
    h.assert_empty();

    // With a held GET: it takes the packets at once, the next GET `1`.
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    h.server.send(session, &OutMessage::text("x")).unwrap();
    h.server
        .close(h.now, session, CloseReason::ServerShutdown)
        .unwrap();
    h.drain();
    assert_eq!(body(&h.response(get).unwrap()), "4x");
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::ServerShutdown)]
    );
    let get = h.poll(&sid);
    assert_eq!(body(&h.response(get).unwrap()), "1");
    h.assert_empty();

    // With a held GET and nothing queued: `1` at once.
    let (session, sid) = h.open_polling();
    let get = h.poll(&sid);
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    assert_eq!(body(&h.response(get).unwrap()), "1");
    h.events();
    let get = h.poll(&sid);
    assert_refused(
        &h.response(get).unwrap(),
        400,
        r#"{"code":1,"message":"Session ID unknown"}"#,
    );
    h.assert_empty();

    // Nobody comes for the close packet: dropped after the linger time.
    let (session, _) = h.open_polling();
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    h.events();
    assert_eq!(h.server.footprint().sessions, 1);
    h.advance_to(30_000);
    h.assert_empty();
}

#[test]
fn server_close_on_websocket() {
    let mut h = Harness::default();
    let (session, _, ws) = h.open_websocket();
    h.send(session, "last");
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    let (data, closed_conn) = h.transmitted(ws);
    assert!(closed_conn);
    let frames = read_frames(&data);
    assert_eq!(text(&frames[0]), "4last");
    assert_eq!(text(&frames[1]), "1");
    assert!(matches!(frames[2], Message::Close(None)));
    assert_eq!(h.events(), vec![closed(session, CloseReason::ForcedClose)]);
    h.assert_empty();
}

// ---------------------------------------------------------------- volatile and backpressure

#[test]
fn send_volatile_only_when_writable() {
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let msg = OutMessage::text("v");
    assert_eq!(h.server.send_volatile(session, &msg), Ok(false));
    let get = h.poll(&sid);
    assert_eq!(h.server.send_volatile(session, &msg), Ok(true));
    h.drain();
    assert_eq!(body(&h.response(get).unwrap()), "4v");
    assert_eq!(h.server.send_volatile(session, &msg), Ok(false));

    let (session, _, ws) = h.open_websocket();
    // The open packet is not flushed yet.
    assert_eq!(h.server.send_volatile(session, &msg), Ok(false));
    h.server.handle_flushed(h.now, ws);
    assert_eq!(h.server.send_volatile(session, &msg), Ok(true));
    assert_eq!(h.server.send_volatile(session, &msg), Ok(false));
    h.drain();
    let (data, _) = h.transmitted(ws);
    assert_eq!(read_frames(&data).len(), 1);
}

#[test]
fn backpressure_closes_a_client_that_does_not_read() {
    let mut config = Config::default();
    config.max_buffered_packets = 3;
    let mut h = Harness::new(config.clone());
    let (session, _) = h.open_polling();
    for _ in 0..3 {
        h.send(session, "x");
    }
    assert!(h.events().is_empty());
    h.send(session, "x");
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    h.assert_empty();

    let mut h = Harness::new(config);
    let (session, _, ws) = h.open_websocket();
    h.server.handle_flushed(h.now, ws);
    for _ in 0..3 {
        h.send(session, "x");
    }
    h.server.handle_flushed(h.now, ws);
    for _ in 0..3 {
        h.send(session, "x");
    }
    assert!(h.events().is_empty());
    h.send(session, "x");
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    // What was queued is dropped at once, not held behind a close frame.
    assert_eq!(h.take().last(), Some(&Output::Io(Io::Abort { conn: ws })));
    h.assert_empty();
}

#[test]
fn progress_reports_keep_a_reading_client_under_the_bounds() {
    let mut config = Config::default();
    config.max_buffered_packets = 3;
    let mut h = Harness::new(config);
    let (session, _, ws) = h.open_websocket();
    h.server.handle_flushed(h.now, ws);
    let frame_len = OutMessage::text("x").ws_frame().len();
    // Never all written at once, yet never more than 3 behind.
    for _ in 0..3 {
        h.send(session, "x");
    }
    for _ in 0..10 {
        h.server.handle_written(h.now, ws, 2, 2 * frame_len);
        h.send(session, "x");
        h.send(session, "x");
    }
    assert!(h.events().is_empty());
    h.send(session, "x");
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    h.assert_empty();
}

#[test]
fn the_byte_bound_closes_a_websocket_and_a_polling_client() {
    let mut config = Config::default();
    config.max_buffered_bytes = 3_000;
    let mut h = Harness::new(config);
    let big = "y".repeat(1_000);
    let (session, _, ws) = h.open_websocket();
    h.server.handle_flushed(h.now, ws);
    h.send(session, &big);
    h.send(session, &big);
    // Written: no longer counted.
    h.server.handle_written(h.now, ws, 2, 2_008);
    h.send(session, &big);
    h.send(session, &big);
    assert!(h.events().is_empty());
    h.send(session, &big);
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    assert_eq!(h.take().last(), Some(&Output::Io(Io::Abort { conn: ws })));

    let (session, sid) = h.open_polling();
    for _ in 0..2 {
        h.send(session, &big);
    }
    assert!(h.events().is_empty());
    h.send(session, &big);
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    // Its queue is gone with it.
    let get = h.poll(&sid);
    assert_eq!(h.response(get).unwrap().status, 400);
    h.assert_empty();

    // One message over the bound is no backlog: it goes out.
    let huge = "z".repeat(5_000);
    let (session, _, ws) = h.open_websocket();
    h.server.handle_flushed(h.now, ws);
    h.send(session, &huge);
    assert!(h.events().is_empty());
    h.send(session, "x");
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
}

#[test]
fn a_closed_websocket_is_aborted_at_the_close_timeout() {
    let mut h = Harness::default();
    let (session, _, ws) = h.open_websocket();
    h.send(session, "last");
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    let (_, closed_conn) = h.transmitted(ws);
    assert!(closed_conn);
    h.events();
    // The peer does not read, so the driver cannot finish the close.
    assert_eq!(h.server.footprint().closing_connections, 1);
    assert_eq!(h.timeout, Some(Instant::from_millis(30_000)));
    h.advance_to(29_999);
    assert!(h.out.is_empty());
    h.advance_to(30_000);
    assert_eq!(h.take(), vec![Output::Io(Io::Abort { conn: ws })]);
    assert_eq!(h.server.footprint().closing_connections, 0);
    h.server.handle_conn_closed(h.now, ws);
    h.assert_empty();
    assert_eq!(h.timeout, None);

    // A peer that reads: the driver reports the connection gone, no abort.
    let (session, _, ws) = h.open_websocket();
    h.server
        .close(h.now, session, CloseReason::ForcedClose)
        .unwrap();
    h.drain();
    h.take();
    h.now = Instant::from_millis(40_000);
    h.server.handle_conn_closed(h.now, ws);
    h.advance_to(100_000);
    assert!(h.take().is_empty());
    assert_eq!(h.server.footprint().closing_connections, 0);
    assert_eq!(h.timeout, None);
}

// ---------------------------------------------------------------- OutMessage

#[test]
fn out_message_frames_match_the_codec() {
    for len in [0usize, 1, 124, 125, 126, 65_534, 65_535, 65_536, 70_000] {
        let data = "y".repeat(len);
        let msg = OutMessage::text(&data);
        let mut payload = b"4".to_vec();
        payload.extend(data.as_bytes());
        assert_eq!(
            msg.ws_frame(),
            &server_frame(OpCode::Text, &payload),
            "text {len}"
        );
        assert_eq!(msg.to_packet(), Packet::Message(data.as_str().into()));

        let msg = OutMessage::binary(data.as_bytes());
        assert_eq!(
            msg.ws_frame(),
            &server_frame(OpCode::Binary, data.as_bytes()),
            "binary {len}"
        );
        assert_eq!(msg.to_packet(), Packet::Binary(Bytes::from(data.clone())));
    }
}

// ---------------------------------------------------------------- proptest

#[derive(Debug, Clone)]
enum Op {
    Handshake,
    WsHandshake,
    Get(usize),
    Post(usize, u8),
    Upgrade(usize),
    WsText(usize, u8),
    Send(usize),
    SendVolatile(usize),
    Close(usize),
    ConnClosed(usize),
    Flushed(usize),
    Written(usize, u8),
    Advance(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Handshake),
        Just(Op::WsHandshake),
        (0..4usize).prop_map(Op::Get),
        (0..4usize, 0..6u8).prop_map(|(s, b)| Op::Post(s, b)),
        (0..4usize).prop_map(Op::Upgrade),
        (0..6usize, 0..6u8).prop_map(|(c, b)| Op::WsText(c, b)),
        (0..4usize).prop_map(Op::Send),
        (0..4usize).prop_map(Op::SendVolatile),
        (0..4usize).prop_map(Op::Close),
        (0..8usize).prop_map(Op::ConnClosed),
        (0..6usize).prop_map(Op::Flushed),
        (0..6usize, 0..4u8).prop_map(|(c, n)| Op::Written(c, n)),
        (0..30_000u32).prop_map(Op::Advance),
    ]
}

const BODIES: [&[u8]; 6] = [b"4a", b"3", b"1", b"x", b"4a\x1ebAQ==\x1e3", b"2probe"];
const WS_TEXTS: [&str; 6] = ["2probe", "5", "3", "4m", "x", "1"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_interleavings_keep_the_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let mut config = Config::default();
        config.max_buffered_packets = 5;
        config.max_buffered_bytes = 200;
        let mut server = EngineServer::new(config, SEED);
        let mut now = 0u64;
        let mut next_conn = 0u64;
        // Sessions in order of their Opened events, with the sid of a polling one.
        let mut sids: Vec<(SessionId, Option<String>)> = Vec::new();
        let mut last_sid: Option<String> = None;
        let mut ws_conns: Vec<ConnId> = Vec::new();
        // Requests not answered yet.
        let mut pending: std::collections::HashSet<ConnId> = Default::default();
        let mut gets: Vec<ConnId> = Vec::new();
        let mut closed_sessions: std::collections::HashSet<SessionId> = Default::default();

        for op in ops {
            let t = Instant::from_millis(now);
            let mut conn = || { next_conn += 1; ConnId(next_conn) };
            match op {
                Op::Handshake => {
                    let c = conn();
                    pending.insert(c);
                    server.handle_request(t, c, get("EIO=4&transport=polling"));
                }
                Op::WsHandshake => {
                    let c = conn();
                    pending.insert(c);
                    ws_conns.push(c);
                    server.handle_request(t, c, ws_request("EIO=4&transport=websocket"));
                }
                Op::Get(i) => if let Some((_, Some(sid))) = sids.get(i) {
                    let c = conn();
                    pending.insert(c);
                    gets.push(c);
                    server.handle_request(t, c, get(&format!("EIO=4&transport=polling&sid={sid}")));
                },
                Op::Post(i, b) => if let Some((_, Some(sid))) = sids.get(i) {
                    let c = conn();
                    pending.insert(c);
                    server.handle_request(t, c, post(&format!("EIO=4&transport=polling&sid={sid}"), BODIES[b as usize]));
                },
                Op::Upgrade(i) => if let Some((_, Some(sid))) = sids.get(i) {
                    let c = conn();
                    pending.insert(c);
                    ws_conns.push(c);
                    server.handle_request(t, c, ws_request(&format!("EIO=4&transport=websocket&sid={sid}")));
                },
                Op::WsText(i, b) => if let Some(c) = ws_conns.get(i) {
                    server.handle_ws_data(t, *c, &client_text(WS_TEXTS[b as usize]));
                },
                Op::Send(i) => if let Some((s, _)) = sids.get(i) {
                    let r = server.send(*s, &OutMessage::text("m"));
                    prop_assert_eq!(r.is_err(), closed_sessions.contains(s));
                },
                Op::SendVolatile(i) => if let Some((s, _)) = sids.get(i) {
                    let r = server.send_volatile(*s, &OutMessage::text("v"));
                    prop_assert_eq!(r.is_err(), closed_sessions.contains(s));
                },
                Op::Close(i) => if let Some((s, _)) = sids.get(i) {
                    let _ = server.close(t, *s, CloseReason::ForcedClose);
                },
                Op::ConnClosed(i) => {
                    let c = if i % 2 == 0 { gets.get(i / 2) } else { ws_conns.get(i / 2) };
                    if let Some(c) = c.copied() {
                        pending.remove(&c);
                        server.handle_conn_closed(t, c);
                    }
                }
                Op::Flushed(i) => if let Some(c) = ws_conns.get(i) {
                    server.handle_flushed(t, *c);
                },
                Op::Written(i, n) => if let Some(c) = ws_conns.get(i) {
                    server.handle_written(t, *c, usize::from(n), 40 * usize::from(n));
                },
                Op::Advance(ms) => {
                    now += u64::from(ms);
                    server.handle_timeout(Instant::from_millis(now));
                }
            }
            // Drain, checking every response answers a pending request once.
            loop {
                match server.poll_output() {
                    Output::Timeout(deadline) => {
                        if let Some(d) = deadline {
                            prop_assert!(d >= Instant::ZERO);
                        }
                        break;
                    }
                    Output::Io(Io::Respond { conn, response }) | Output::Io(Io::Upgrade { conn, response }) => {
                        prop_assert!(pending.remove(&conn), "answered twice or unknown: {:?} {:?}", conn, response);
                        if response.status == 200 && response.body.starts_with(b"0{") {
                            last_sid = Some(sid_of(std::str::from_utf8(&response.body).unwrap()));
                        }
                    }
                    Output::Event(EngineEvent::Opened { session }) => {
                        // A polling handshake's answer comes just before its event.
                        sids.push((session, last_sid.take()));
                    }
                    Output::Event(EngineEvent::Closed { session, .. }) => {
                        prop_assert!(closed_sessions.insert(session), "closed twice");
                    }
                    Output::Io(Io::Abort { conn }) => {
                        prop_assert!(!pending.contains(&conn), "aborted before its answer: {:?}", conn);
                    }
                    _ => {}
                }
            }
        }
        // Close everything: every held request is answered, nothing stays.
        let t = Instant::from_millis(now);
        for (s, _) in &sids {
            let _ = server.close(t, *s, CloseReason::ServerShutdown);
        }
        // Twice: a close made by a deadline of the first gets its own deadline.
        for later in [100_000, 200_000] {
            server.handle_timeout(Instant::from_millis(now + later));
            loop {
                match server.poll_output() {
                    Output::Timeout(_) => break,
                    Output::Io(Io::Respond { conn, .. }) => { pending.remove(&conn); }
                    _ => {}
                }
            }
        }
        prop_assert_eq!(server.session_count(), 0);
        prop_assert!(pending.is_empty(), "unanswered: {:?}", pending);
        let footprint = server.footprint();
        prop_assert_eq!(footprint.sessions, 0);
        prop_assert_eq!(footprint.connections, 0);
        prop_assert_eq!(footprint.timer_entries, 0);
        // Every connection told to close was aborted by its deadline.
        prop_assert_eq!(footprint.closing_connections, 0);
    }
}

// ---------------------------------------------------------------- compression

/// A polling GET of `sid` with `Accept-Encoding: accept` (none if `None`).
fn poll_accepting(h: &mut Harness, sid: &str, accept: Option<&str>) -> ConnId {
    let mut headers = vec![("host", "localhost")];
    if let Some(accept) = accept {
        headers.push(("accept-encoding", accept));
    }
    let query = format!("EIO=4&transport=polling&sid={sid}");
    h.request(request(Method::Get, &target(&query), &headers, b""))
}

#[test]
fn polling_responses_are_compressed_past_the_threshold() {
    use sio_core::wire::http::compression;
    let mut h = Harness::default();
    let (session, sid) = h.open_polling();
    let big = "compressible text ".repeat(100);
    for (accept, coding) in [
        (Some("gzip, deflate, br"), Some("gzip")),
        (Some("deflate"), Some("deflate")),
        (Some("gzip;q=0, deflate;q=0"), None),
        (None, None),
    ] {
        let get = poll_accepting(&mut h, &sid, accept);
        h.send(session, &big);
        let response = h.response(get).expect("answered");
        assert_eq!(response.header("content-encoding"), coding, "{accept:?}");
        let decoded = compression::decode(coding, &response.body, 1 << 20).unwrap();
        assert_eq!(decoded, format!("4{big}").into_bytes());
        if coding.is_some() {
            assert!(response.body.len() < big.len() / 4);
        }
    }
    // Below the threshold (1,024 bytes): as it is.
    let get = poll_accepting(&mut h, &sid, Some("gzip"));
    h.send(session, &"x".repeat(1022));
    let response = h.response(get).unwrap();
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.body.len(), 1023);
    // At it: compressed.
    let get = poll_accepting(&mut h, &sid, Some("gzip"));
    h.send(session, &"x".repeat(1023));
    assert_eq!(
        h.response(get).unwrap().header("content-encoding"),
        Some("gzip")
    );

    // Uncompressed messages (Node's `compress(false)`): as they are,
    // unless another packet of the payload may be compressed.
    let plain = OutMessage::text(&"x".repeat(2000)).uncompressed();
    let get = poll_accepting(&mut h, &sid, Some("gzip"));
    h.server.send(session, &plain).unwrap();
    h.drain();
    assert_eq!(h.response(get).unwrap().header("content-encoding"), None);
    h.server.send(session, &plain).unwrap();
    h.server.send(session, &OutMessage::text("y")).unwrap();
    let get = poll_accepting(&mut h, &sid, Some("gzip"));
    assert_eq!(
        h.response(get).unwrap().header("content-encoding"),
        Some("gzip")
    );

    // Turned off: never.
    let mut config = Config::default();
    config.http_compression = None;
    let mut h = Harness::new(config);
    let (session, sid) = h.open_polling();
    let get = poll_accepting(&mut h, &sid, Some("gzip"));
    h.send(session, &big);
    assert_eq!(h.response(get).unwrap().header("content-encoding"), None);
}

/// A WebSocket handshake offering `offer`: its `101` and the connection.
fn websocket_offering(h: &mut Harness, offer: &str) -> (Response, ConnId) {
    let mut req = ws_request("EIO=4&transport=websocket");
    req.headers.push(Header {
        name: "sec-websocket-extensions".into(),
        value: offer.into(),
    });
    let conn = h.request(req);
    match h.out.remove(0) {
        Output::Io(Io::Upgrade { response, .. }) => (*response, conn),
        other => panic!("{other:?}"),
    }
}

#[test]
fn permessage_deflate_is_negotiated_and_used_both_ways() {
    use sio_core::wire::ws::deflate::{Inflater, PerMessageDeflate};
    use sio_core::wire::ws::DeflateOptions;
    let mut config = Config::default();
    config.per_message_deflate = Some(DeflateOptions::default());
    let mut h = Harness::new(config);
    let (response, ws) = websocket_offering(&mut h, "permessage-deflate; client_max_window_bits");
    assert_eq!(
        response.header("sec-websocket-extensions"),
        Some("permessage-deflate")
    );
    let session = match h.events().as_slice() {
        [EngineEvent::Opened { session }] => *session,
        other => panic!("{other:?}"),
    };
    let mut client = Decoder::with_inflater(Role::Client, Limits::default(), Inflater::new(false));
    // The open packet is short: sent plain.
    let (open, _) = h.transmitted(ws);
    assert_eq!(open[0], 0x81);
    client.feed(&open);
    assert!(matches!(client.poll_message(), Ok(Some(Message::Text(_)))));
    // A long message twice: compressed, the second referring to the first.
    let big = "a long and repetitive message; ".repeat(100);
    let mut sizes = Vec::new();
    for _ in 0..2 {
        h.send(session, &big);
        let (data, _) = h.transmitted(ws);
        assert_eq!(data[0], 0x80 | 0x40 | 0x1, "FIN, RSV1, text");
        sizes.push(data.len());
        client.feed(&data);
        assert_eq!(
            client.poll_message(),
            Ok(Some(Message::Text(format!("4{big}").into())))
        );
    }
    assert!(sizes[1] < sizes[0] && sizes[0] < big.len() / 4, "{sizes:?}");
    // An uncompressed message (Node's `compress(false)`) goes out plain,
    // however long, and the next compressed one still inflates.
    h.server
        .send(session, &OutMessage::text(&big).uncompressed())
        .unwrap();
    h.drain();
    let (data, _) = h.transmitted(ws);
    assert_eq!(data[0], 0x81, "FIN, no RSV1, text");
    assert!(data.len() > big.len());
    client.feed(&data);
    assert_eq!(
        client.poll_message(),
        Ok(Some(Message::Text(format!("4{big}").into())))
    );
    h.send(session, &big);
    let (data, _) = h.transmitted(ws);
    assert_eq!(data[0], 0x80 | 0x40 | 0x1, "FIN, RSV1, text");
    client.feed(&data);
    assert_eq!(
        client.poll_message(),
        Ok(Some(Message::Text(format!("4{big}").into())))
    );
    // The client's compressed messages are inflated.
    let mut sender = PerMessageDeflate::new(0, 6, false);
    for _ in 0..2 {
        let mut frame = BytesMut::new();
        sender.encode(
            &mut frame,
            OpCode::Text,
            format!("4{big}").as_bytes(),
            Some([1, 2, 3, 4]),
        );
        h.ws_data(ws, &frame);
        assert_eq!(h.events(), vec![message(session, &big)]);
    }
    // A deflate bomb: closed with 1009 at the bound, the session fails.
    let mut bomb = BytesMut::new();
    PerMessageDeflate::new(0, 9, true).encode(
        &mut bomb,
        OpCode::Text,
        &vec![b'4'; 50_000_000],
        Some([5, 6, 7, 8]),
    );
    assert!(bomb.len() < 100_000);
    h.ws_data(ws, &bomb);
    let (data, _) = h.transmitted(ws);
    assert_eq!(
        read_frames(&data),
        vec![Message::Close(Some(CloseFrame {
            code: 1009,
            reason: String::new()
        }))]
    );
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
}

#[test]
fn permessage_deflate_off_or_unacceptable_is_a_plain_websocket() {
    // Off (the default): the offer is ignored, and RSV1 is a protocol error.
    let mut h = Harness::default();
    let (response, ws) = websocket_offering(&mut h, "permessage-deflate; client_max_window_bits");
    assert_eq!(response.header("sec-websocket-extensions"), None);
    let session = match h.events().as_slice() {
        [EngineEvent::Opened { session }] => *session,
        other => panic!("{other:?}"),
    };
    h.transmitted(ws);
    let mut frame = client_text("4hi");
    frame[0] |= 0x40;
    h.ws_data(ws, &frame);
    let (data, _) = h.transmitted(ws);
    assert_eq!(
        read_frames(&data),
        vec![Message::Close(Some(CloseFrame {
            code: 1002,
            reason: String::new()
        }))]
    );
    assert_eq!(
        h.events(),
        vec![closed(session, CloseReason::TransportError)]
    );
    // On, but the only offer asks for a window the server cannot use.
    let mut config = Config::default();
    config.per_message_deflate = Some(sio_core::wire::ws::DeflateOptions::default());
    let mut h = Harness::new(config);
    let (response, _) = websocket_offering(&mut h, "permessage-deflate; server_max_window_bits=10");
    assert_eq!(response.status, 101);
    assert_eq!(response.header("sec-websocket-extensions"), None);
}
