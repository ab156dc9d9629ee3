//! The engine hooks and the socket's disconnecting stage on virtual time:
//! `allow_request` holding a handshake until its verdict (and no longer
//! than the body timeout), the headers hooks, `connection_error`, and
//! `on_disconnecting` before `on_disconnect` with the rooms listed.

use std::future::pending;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_driver::testing::{RawClient, VirtualRuntime};
use sio_driver::{Config, Forbidden, SocketIo};

const NS: Duration = Duration::from_nanos(1);

fn handshake(query: &str) -> Vec<u8> {
    format!("GET /socket.io/?EIO=4&transport=polling{query} HTTP/1.1\r\nHost: x\r\n\r\n")
        .into_bytes()
}

/// What the `connection_error` hook heard: code, message, context.
type Errors = Arc<Mutex<Vec<(u8, String, serde_json::Value)>>>;

fn hear_errors(io: &SocketIo) -> Errors {
    let errors = Errors::default();
    let log = errors.clone();
    io.engine().on_connection_error(move |error| {
        log.lock()
            .unwrap()
            .push((error.code, error.message.to_owned(), error.context));
    });
    errors
}

#[test]
fn a_verdict_that_never_comes_refuses_at_the_body_timeout() {
    let rt = VirtualRuntime::new();
    let mut config = Config::default();
    config.engine.body_timeout = Duration::from_secs(9);
    let io = SocketIo::with_runtime(rt.clone(), config);
    io.engine()
        .allow_request(|_| pending::<Result<(), Forbidden>>());
    let errors = hear_errors(&io);
    let (mut end, _) = rt.connect_raw(&io, 4096);
    end.write_now(&handshake("")).unwrap();
    rt.advance(Duration::from_secs(9) - NS);
    assert!(end.read_now().is_empty(), "held until the verdict");
    rt.advance(NS);
    let answer = String::from_utf8(end.read_now()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.ends_with(r#"{"code":4,"message":"Forbidden"}"#),
        "{answer}"
    );
    rt.run_until_idle();
    assert_eq!(
        *errors.lock().unwrap(),
        [(
            4,
            "Forbidden".to_owned(),
            serde_json::json!({ "message": null })
        )]
    );
    assert_eq!(io.socket_count(), 0);
}

#[test]
fn verdicts_and_headers_reach_the_client() {
    let rt = VirtualRuntime::new();
    let io = SocketIo::with_runtime(rt.clone(), Config::default());
    // Asked only about handshakes: the verdict reads the query.
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    io.engine().allow_request(move |request| {
        seen.lock().unwrap().push(request.url().to_owned());
        let deny = request.query("deny");
        async move {
            match deny {
                Some(message) => Err(Forbidden::with_message(message)),
                None => Ok(()),
            }
        }
    });
    io.engine().on_initial_headers(|_, headers| {
        headers.insert("Set-Cookie", "a=1").unwrap();
    });
    io.engine().on_headers(|request, headers| {
        headers.insert("X-Path", request.path()).unwrap();
        assert!(headers.insert("X-Bad", "1\r\n2").is_err());
    });
    let errors = hear_errors(&io);

    let (mut end, _) = rt.connect_raw(&io, 4096);
    end.write_now(&handshake("&deny=no%20entry")).unwrap();
    rt.run_until_idle();
    let answer = String::from_utf8(end.read_now()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.ends_with(r#"{"code":4,"message":"no entry"}"#),
        "{answer}"
    );
    assert!(!answer.contains("X-Path") && !answer.contains("Set-Cookie"));

    let (mut end, _) = rt.connect_raw(&io, 4096);
    end.write_now(&handshake("")).unwrap();
    rt.run_until_idle();
    let answer = String::from_utf8(end.read_now()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Set-Cookie: a=1\r\n"), "{answer}");
    assert!(answer.contains("X-Path: /socket.io/\r\n"), "{answer}");
    assert!(!answer.contains("X-Bad"));
    let sid = answer
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    // A request of the open session: not asked about, no initial headers.
    let post = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n40"
    );
    end.write_now(post.as_bytes()).unwrap();
    rt.run_until_idle();
    let answer = String::from_utf8(end.read_now()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("X-Path: /socket.io/\r\n") && !answer.contains("Set-Cookie"));
    assert_eq!(asked.lock().unwrap().len(), 2);

    // A bad sid: reported with Node's code and context.
    end.write_now(b"GET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    rt.run_until_idle();
    let answer = String::from_utf8(end.read_now()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(
        *errors.lock().unwrap(),
        [
            (
                4,
                "Forbidden".to_owned(),
                serde_json::json!({ "message": "no entry" })
            ),
            (
                1,
                "Session ID unknown".to_owned(),
                serde_json::json!({ "sid": "nope" })
            ),
        ]
    );
}

#[test]
fn disconnecting_runs_before_disconnect_with_the_rooms() {
    let rt = VirtualRuntime::new();
    let io = SocketIo::with_runtime(rt.clone(), Config::default());
    let stages = Arc::new(Mutex::new(Vec::new()));
    let log = stages.clone();
    io.on_connection(move |socket| {
        let log = log.clone();
        async move {
            socket.join("r1").unwrap();
            for stage in ["disconnecting", "disconnect"] {
                let log = log.clone();
                let handler =
                    move |socket: sio_driver::Socket, reason: sio_driver::DisconnectReason| {
                        let mut rooms = socket.rooms();
                        rooms.sort();
                        rooms.retain(|room| room != socket.id());
                        log.lock().unwrap().push((stage, reason.as_str(), rooms));
                        std::future::ready(())
                    };
                // Registered in reverse: the stage, not the order, decides.
                if stage == "disconnecting" {
                    socket.on_disconnect(|_, _| std::future::ready(()));
                    socket.on_disconnecting(handler);
                } else {
                    socket.on_disconnect(handler);
                }
            }
        }
    });
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    client.send_text("41", &[]);
    rt.run_until_idle();
    let rooms = vec!["r1".to_owned()];
    assert_eq!(
        *stages.lock().unwrap(),
        [
            (
                "disconnecting",
                "client namespace disconnect",
                rooms.clone()
            ),
            ("disconnect", "client namespace disconnect", rooms),
        ]
    );
}

#[test]
fn engine_io_alone_has_the_same_hooks() {
    use sio_driver::engine_io::{Config as EngineConfig, EngineIo};
    use sio_driver::testing::pipe;
    let rt = VirtualRuntime::new();
    let mut config = EngineConfig::default();
    config.path = "/engine.io/".into();
    let server = EngineIo::with_runtime(rt.clone(), config);
    server.hooks().allow_request(|request| {
        let denied = request.query("deny").is_some();
        async move {
            match denied {
                true => Err(Forbidden::new()),
                false => Ok(()),
            }
        }
    });
    server.hooks().on_headers(|_, headers| {
        headers.insert("X-Engine", "yes").unwrap();
    });
    let codes = Arc::new(Mutex::new(Vec::new()));
    let log = codes.clone();
    server
        .hooks()
        .on_connection_error(move |error| log.lock().unwrap().push(error.code));
    let (mut end, served) = pipe(4096);
    let serving = server.clone();
    let _task = rt.spawn_task(async move { serving.serve_connection(served, None).await });
    let mut ask = |query: &str| {
        end.write_now(
            format!("GET /engine.io/?EIO=4&transport={query} HTTP/1.1\r\nHost: x\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        rt.run_until_idle();
        String::from_utf8(end.read_now()).unwrap()
    };
    let answer = ask("polling&deny=1");
    assert!(
        answer.starts_with("HTTP/1.1 403") && !answer.contains("X-Engine"),
        "{answer}"
    );
    let answer = ask("flash");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let answer = ask("polling");
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("X-Engine: yes\r\n"),
        "{answer}"
    );
    rt.run_until_idle();
    assert_eq!(*codes.lock().unwrap(), [4, 0]);
}
