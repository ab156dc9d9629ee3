//! The client's socket.io-client options beyond the wire, on virtual time
//! against a sio server: managers shared per server (and `force_new`),
//! auth functions asked on every connection attempt, extra headers seen
//! by the server and refused when they could break a request.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use sio_driver::testing::VirtualRuntime;
use sio_driver::{client_socket, ClientConfig, ClientSocket, Config, ConnectError, SocketIo};

const URL: &str = "http://localhost:3000";

/// A server that records each handshake's auth and `x-token` header, and
/// refuses a `{"token":"bad"}`.
fn server(rt: &VirtualRuntime) -> (SocketIo, Arc<Mutex<Vec<String>>>) {
    let io = SocketIo::with_runtime(rt.clone(), Config::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    io.use_middleware(move |context| {
        let log = log.clone();
        async move {
            let handshake = context.handshake();
            let auth = handshake.auth_raw().map(|a| a.as_str().to_owned());
            let header = handshake.header("x-token").map(str::to_owned);
            log.lock().unwrap().push(format!("{auth:?} {header:?}"));
            match auth.as_deref() {
                Some(r#"{"token":"bad"}"#) => Err(ConnectError::new("bad token")),
                _ => Ok(()),
            }
        }
    });
    io.of("/admin").unwrap();
    rt.listen("localhost", 3000, &io);
    (io, seen)
}

fn socket(rt: &VirtualRuntime, url: &str, config: ClientConfig) -> ClientSocket {
    client_socket(rt.clone(), url, config).unwrap()
}

fn connect(rt: &VirtualRuntime, socket: &ClientSocket) {
    socket.connect();
    rt.run_until_idle();
    assert!(socket.connected(), "{} did not connect", socket.nsp());
}

#[test]
fn sockets_share_a_manager_per_server_unless_force_new() {
    let rt = VirtualRuntime::new();
    let (_io, _seen) = server(&rt);
    let main = socket(&rt, URL, ClientConfig::default());
    let admin = socket(&rt, &format!("{URL}/admin"), ClientConfig::default());
    connect(&rt, &main);
    connect(&rt, &admin);
    let session = main.manager().engine_id();
    assert!(session.is_some());
    assert_eq!(admin.manager().engine_id(), session);
    // A second socket on a namespace the shared manager has: its own.
    let again = socket(&rt, URL, ClientConfig::default());
    connect(&rt, &again);
    assert_ne!(again.manager().engine_id(), session);
    // force_new: its own too.
    let mut config = ClientConfig::default();
    config.force_new = true;
    let apart = socket(&rt, &format!("{URL}/admin"), config);
    connect(&rt, &apart);
    assert_ne!(apart.manager().engine_id(), session);
    // Another Engine.IO path is another server.
    let mut config = ClientConfig::default();
    config.engine.path = "/other/".into();
    let other = socket(&rt, &format!("{URL}/admin"), config);
    assert_ne!(other.manager().engine_id(), session);
}

#[test]
fn the_auth_function_is_called_for_every_connect() {
    let rt = VirtualRuntime::new();
    let (_io, seen) = server(&rt);
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let mut config = ClientConfig::default().with_auth_fn(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok::<_, String>(serde_json::json!({ "token": format!("t{n}") })) }
    });
    config.force_new = true;
    let client = socket(&rt, URL, config);
    connect(&rt, &client);
    client.disconnect();
    rt.run_until_idle();
    connect(&rt, &client);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            r#"Some("{\"token\":\"t1\"}") None"#,
            r#"Some("{\"token\":\"t2\"}") None"#
        ]
    );
}

#[test]
fn a_failing_auth_function_is_a_connect_error() {
    let rt = VirtualRuntime::new();
    let (_io, seen) = server(&rt);
    let mut config =
        ClientConfig::default().with_auth_fn(|| async { Err::<(), _>("no token today") });
    config.force_new = true;
    let client = socket(&rt, URL, config);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let log = errors.clone();
    client.on_connect_error(move |_, error| {
        log.lock().unwrap().push(error.message);
        std::future::ready(())
    });
    client.connect();
    rt.run_until_idle();
    assert!(!client.connected());
    assert!(!client.active());
    assert_eq!(*errors.lock().unwrap(), ["no token today"]);
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn extra_headers_reach_the_server() {
    let rt = VirtualRuntime::new();
    let (_io, seen) = server(&rt);
    let mut config = ClientConfig::default().with_extra_header("X-Token", "abc");
    config.force_new = true;
    let client = socket(&rt, URL, config);
    connect(&rt, &client);
    assert_eq!(*seen.lock().unwrap(), [r#"None Some("abc")"#]);
}

#[test]
fn extra_headers_that_could_break_a_request_are_refused() {
    let rt = VirtualRuntime::new();
    for (name, value, reason) in [
        (
            "X-A",
            "1\r\nX-B: 2",
            "an extra header value holds CR, LF or NUL",
        ),
        ("X-A", "1\n", "an extra header value holds CR, LF or NUL"),
        ("X A", "1", "an extra header name is not an HTTP token"),
        ("", "1", "an extra header name is not an HTTP token"),
    ] {
        let config = ClientConfig::default().with_extra_header(name, value);
        let error = client_socket(rt.clone(), URL, config).unwrap_err();
        assert_eq!(error.reason, reason);
    }
    for name in ["Host", "content-length", "Sec-WebSocket-Key", "Upgrade"] {
        let config = ClientConfig::default().with_extra_header(name, "x");
        let error = client_socket(rt.clone(), URL, config).unwrap_err();
        assert!(error.reason.contains("writes itself"), "{name}: {error}");
    }
}

#[test]
fn managers_are_not_shared_between_runtime_instances() {
    let one = VirtualRuntime::new();
    let two = VirtualRuntime::new();
    let (_io1, _) = server(&one);
    let (_io2, _) = server(&two);
    let main = socket(&one, URL, ClientConfig::default());
    connect(&one, &main);
    let admin = socket(&two, &format!("{URL}/admin"), ClientConfig::default());
    connect(&two, &admin);
    assert_ne!(admin.manager().engine_id(), main.manager().engine_id());
}

#[test]
fn an_auth_function_that_never_answers_fails_the_connect_at_the_attempt_timeout() {
    let rt = VirtualRuntime::new();
    let (_io, seen) = server(&rt);
    let mut config =
        ClientConfig::default().with_auth_fn(std::future::pending::<Result<(), String>>);
    config.force_new = true;
    config.engine.timeout = std::time::Duration::from_secs(5);
    let client = socket(&rt, URL, config);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let log = errors.clone();
    client.on_connect_error(move |_, error| {
        log.lock().unwrap().push(error.message);
        std::future::ready(())
    });
    client.connect();
    rt.run_until_idle();
    assert!(errors.lock().unwrap().is_empty());
    rt.advance(std::time::Duration::from_secs(5));
    rt.run_until_idle();
    assert_eq!(
        *errors.lock().unwrap(),
        ["the auth function gave no answer within 5s"]
    );
    assert!(!client.active());
    assert!(seen.lock().unwrap().is_empty());
}
