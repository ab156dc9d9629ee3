//! The scenarios, one function each, against sio's scenario servers
//! (conformance/src/scenarios.rs says what each server does). rust_socketio
//! 0.6 has one namespace per client (each its own connection), no socket id,
//! no way to answer a server's ack request, and delivers only the first
//! binary attachment of an event or ack: what it cannot express is a NOTE,
//! what it does differently from the Node server's wire is a KNOWN.

use bytes::Bytes;
use rust_socketio::{Payload, TransportType};
use serde_json::{json, Value};

use crate::client::{check, known, note, same, Conn, Options, Outcome, Run};

pub async fn run(scenario: &str, mode: &str, run: &Run) -> Outcome {
    match scenario {
        "auth" => auth(run).await,
        "namespaces" => namespaces(run).await,
        "json-types" => json_types(run).await,
        "binary" => binary(run).await,
        "acks" => acks(run).await,
        "rooms" => rooms(run).await,
        "disconnect" => disconnect(run).await,
        "transports" => transports(run, mode).await,
        other => Err(format!("unknown scenario {other:?}")),
    }
}

/// The text rust_socketio gives its `error` handler for a CONNECT_ERROR.
const CONNECT_ERROR: &str = "Received an ConnectError frame: ";

fn connect_error(payload: &Payload) -> Result<Value, String> {
    let text = match payload {
        Payload::Text(values) => match values.as_slice() {
            [Value::String(text)] => text.clone(),
            _ => return Err(format!("error payload {values:?}")),
        },
        other => return Err(format!("error payload {other:?}")),
    };
    let data = text
        .strip_prefix(CONNECT_ERROR)
        .ok_or_else(|| format!("error {text:?} is not a connect error"))?;
    serde_json::from_str(data).map_err(|e| format!("connect error data {data:?}: {e}"))
}

async fn auth(run: &Run) -> Outcome {
    run.step("accepted with the token");
    let auth = Some(json!({ "token": "s3cret" }));
    let ok = Conn::open(
        run,
        Options {
            auth: auth.clone(),
            ..Options::default()
        },
    )
    .await?;
    same(
        ok.next_text("hello").await?,
        vec![json!("alice"), json!("s3cret")],
        "hello",
    )?;

    let refusals = [
        (
            "refused with message and data",
            Some(json!({ "token": "wrong" })),
            "",
            json!({"message": "bad token", "data": {"code": 4001, "retry": false, "hint": ["use", "s3cret"], "detail": null}}),
        ),
        (
            "refused without data",
            None,
            "",
            json!({"message": "no token"}),
        ),
        (
            "second middleware step refuses",
            auth.clone(),
            "?block=yes",
            json!({"message": "blocked by step two", "data": "query"}),
        ),
    ];
    for (label, auth, query, expected) in refusals {
        run.step(label);
        let refused = crate::client::connect(
            run,
            Options {
                auth,
                query,
                ..Options::default()
            },
        )
        .await?;
        same(
            connect_error(&refused.inbox.next("error").await?)?,
            expected,
            "connect error",
        )?;
        check(refused.inbox.received("open").is_empty(), || {
            "connected after the refusal".into()
        })?;
    }

    run.step("/admin refused by its middleware");
    let admin = crate::client::connect(
        run,
        Options {
            namespace: "/admin",
            auth,
            ..Options::default()
        },
    )
    .await?;
    same(
        connect_error(&admin.inbox.next("error").await?)?,
        json!({"message": "admins only"}),
        "/admin connect error",
    )?;
    note("one namespace per rust_socketio client: / and the refused /admin were separate connections");
    Ok(())
}

async fn namespaces(run: &Run) -> Outcome {
    for ns in ["/admin", "/"] {
        run.step(ns);
        let conn = Conn::open(
            run,
            Options {
                namespace: ns,
                ..Options::default()
            },
        )
        .await?;
        let where_ = conn.next_text("where").await?;
        check(where_.len() == 2 && where_[0] == json!(ns), || {
            format!("where on {ns}: {where_:?}")
        })?;
        let id = where_[1].as_str().unwrap_or_default().to_owned();
        check(id.len() == 20, || {
            format!("socket id {id:?}, expected 20 characters")
        })?;
        same(
            conn.call_args("whoami", vec![]).await?,
            vec![json!(ns), json!(id)],
            "whoami",
        )?;
    }
    note("rust_socketio has no multiplexing (one namespace per client and connection) and no socket id of its own");
    Ok(())
}

async fn json_types(run: &Run) -> Outcome {
    run.step("server-types on connect");
    let conn = Conn::open(run, Options::default()).await?;
    let expected = vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(9_007_199_254_740_991_i64),
        json!(0.5),
        json!(1e300),
        json!("héllo wörld ☃ 🎉 \"q\" \\ \n\t\u{0}\u{2028}"),
        json!([[1, 2], [], [3]]),
        json!({"name": "n", "tags": ["a", "b"], "inner": {"x": -1.25, "y": null}, "empty": []}),
    ];
    same(
        conn.next_text("server-types").await?,
        expected,
        "server-types",
    )?;

    let sent = vec![
        Value::Null,
        json!(true),
        json!(-7),
        json!(2.5),
        json!("text ☃"),
        json!([1, [2, [3]]]),
        json!({"k": {"deep": [null, false]}}),
        json!([]),
        json!({}),
    ];
    run.step("echo as ack");
    same(
        conn.call_args("echo", sent.clone()).await?,
        sent.clone(),
        "echo ack",
    )?;

    run.step("reflect as an event");
    conn.emit("reflect", sent.clone()).await?;
    same(conn.next_text("reflect").await?, sent, "reflected event")?;

    run.step("typed handler");
    let typed = vec![
        Value::Null,
        json!(true),
        json!(-42),
        json!(1.5),
        json!("s"),
        json!([1, "two", null]),
        json!({"name": "n", "tags": ["t"], "inner": {"x": 2.5, "y": 3}, "empty": []}),
    ];
    same(
        conn.call_args("typed", typed.clone()).await?,
        typed,
        "typed ack",
    )?;

    run.step("Unicode event name");
    let text = "naïve ☃ 🎉";
    same(
        conn.call_args("événement 🎉", vec![json!(text)]).await?,
        vec![json!(text.chars().count()), json!(text)],
        "événement ack",
    )?;

    run.step("no arguments");
    conn.emit("no-args", Vec::<Value>::new()).await?;
    let arrived = conn
        .inbox
        .until("\"nothing\"", |events| {
            events
                .iter()
                .find(|(e, _)| e == "nothing" || e == "message")
                .cloned()
        })
        .await?;
    match arrived {
        (event, Payload::Text(args)) if event == "nothing" && args.is_empty() => {}
        (event, Payload::Text(args)) if event == "message" && args == vec![json!("nothing")] => known(
            "an event without arguments ([\"nothing\"]) reaches the \"message\" handler with the event name as its argument (same with the Node server)",
        ),
        other => return Err(format!("\"nothing\" arrived as {other:?}")),
    }
    Ok(())
}

/// What rust_socketio says when a WebSocket binary frame arrives.
const ENGINE_ERROR: &str = "EngineIO Error";

/// The next binary event whose name starts with `prefix`, or `Err` with
/// the text of an `error` that came instead (one past the first
/// `errors_before`).
async fn binary_event(
    conn: &Conn,
    prefix: &str,
    errors_before: usize,
) -> Result<Result<(String, Bytes), String>, String> {
    let what = format!("\"{prefix}\"");
    let found = conn
        .inbox
        .until(&what, |events| {
            let error = events
                .iter()
                .filter(|(e, _)| e == "error")
                .nth(errors_before);
            let event = events.iter().find(|(e, _)| e.starts_with(prefix));
            event.or(error).cloned()
        })
        .await?;
    match found {
        (event, Payload::Binary(bytes)) if event != "error" => Ok(Ok((event, bytes))),
        (event, Payload::Text(text)) if event == "error" => Ok(Err(format!("{text:?}"))),
        other => Err(format!("{what} arrived as {other:?}")),
    }
}

fn websocket_binary_known(error: &str) -> Outcome {
    check(error.contains(ENGINE_ERROR), || format!("error {error}"))?;
    known("over WebSocket, a binary frame from the server is an \"EngineIO Error\", after which the client reads nothing more (rust_engineio 0.6; same with the Node server)");
    Ok(())
}

async fn binary(run: &Run) -> Outcome {
    for (label, transport) in [
        ("polling", TransportType::Polling),
        ("websocket", TransportType::Websocket),
    ] {
        run.step(&format!("{label}: server-made Bytes"));
        let conn = Conn::open(
            run,
            Options {
                transport,
                ..Options::default()
            },
        )
        .await?;
        // ["server-bin", <bin 0>, {"blob": <bin 1>, ...}, "after"]: rust_socketio
        // names a binary event by the text around its first placeholder.
        match binary_event(&conn, "server-bin", 0).await? {
            Ok((event, first)) if event == "server-bin" => same(first, Bytes::from_static(&[0, 1, 2, 255]), "server-bin")?,
            Ok((event, first)) if first.as_ref() == [0, 1, 2, 255] => known(&format!(
                "a binary event with several arguments reaches the handler named {event:?}, with the first attachment only (same with the Node server)"
            )),
            Ok(other) => return Err(format!("server-bin arrived as {other:?}")),
            Err(error) => {
                // Nothing more arrives on this connection, with Node too.
                websocket_binary_known(&error)?;
                continue;
            }
        }

        run.step(&format!("{label}: bytes as an event, reflected"));
        let data = Bytes::from((0..=255u8).chain(0..=255).collect::<Vec<u8>>());
        let errors_before = conn.inbox.received("error").len();
        conn.emit("reflect", data.clone()).await?;
        match binary_event(&conn, "reflect", errors_before).await? {
            Ok((event, got)) => same((event.as_str(), got), ("reflect", data), "reflected bytes")?,
            Err(error) => websocket_binary_known(&error)?,
        }

        run.step(&format!("{label}: a placeholder look-alike without binary"));
        let fake = json!({"_placeholder": true, "num": 0});
        same(
            conn.call_args("echo", vec![fake.clone(), json!("x")])
                .await?,
            vec![fake, json!("x")],
            "echo",
        )?;
    }
    note("rust_socketio 0.6 sends bytes with an ack request as a BINARY_ACK packet, which servers take for an ack (Node ignores it): binary acks are not run");
    Ok(())
}

async fn acks(run: &Run) -> Outcome {
    let conn = Conn::open(run, Options::default()).await?;
    run.step("ack with one value");
    same(
        conn.call_args("double", vec![json!(21)]).await?,
        vec![json!(42)],
        "double",
    )?;

    run.step("ack with several values");
    same(
        conn.call_args("two-answers", vec![]).await?,
        vec![json!("first"), json!(2), json!([3])],
        "two-answers",
    )?;

    run.step("server timeout, the client never acks");
    conn.emit("server-timeout", json!(300)).await?;
    let result = conn.next_text("server-timeout-result").await?;
    same(
        result.first().cloned(),
        Some(json!("timeout")),
        "server's emit_with_ack outcome",
    )?;
    let waited = result.get(1).and_then(Value::as_u64).unwrap_or_default();
    check((290..3000).contains(&waited), || {
        format!("server waited {waited} ms, expected about 300")
    })?;
    // ["ignore-me"] with an ack id: no arguments, so rust_socketio hands
    // it to "message" (see json-types).
    let ignore_me = Payload::Text(vec![json!("ignore-me")]);
    let asked = conn.inbox.received("ignore-me").len()
        + conn
            .inbox
            .received("message")
            .iter()
            .filter(|p| **p == ignore_me)
            .count();
    check(asked == 1, || {
        format!("\"ignore-me\" arrived {asked} times, expected once")
    })?;
    same(
        conn.call_args("double", vec![json!(1)]).await?,
        vec![json!(2)],
        "round trip after the timeout",
    )?;
    note("rust_socketio 0.6 has no way to answer a server's ack request nor a timeout error of its own: the server's questions and roll-calls are not run");
    Ok(())
}

/// Label, actor, event, its arguments for a tag, who must get the tag.
type RoomStep = (
    &'static str,
    usize,
    &'static str,
    Box<dyn Fn(&str) -> Vec<Value>>,
    Vec<usize>,
);

async fn rooms(run: &Run) -> Outcome {
    const NAMES: [&str; 3] = ["A", "B", "C"];
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in NAMES {
        let conn = Conn::open(run, Options::default()).await?;
        // A socket is in its own room only, at first: that is its id.
        let rooms = conn.call_args("rooms", vec![]).await?;
        let id = match rooms.as_slice() {
            [Value::Array(own)] if own.len() == 1 => own[0].clone(),
            other => return Err(format!("rooms at connect: {other:?}")),
        };
        clients.push(conn);
        ids.push(id);
    }
    let sorted = |mut v: Vec<Value>| {
        v.sort_by_key(|x| x.as_str().unwrap_or_default().to_owned());
        json!(v)
    };

    run.step("join");
    for (n, room) in [(0, "r1"), (1, "r1"), (1, "r2"), (2, "r2")] {
        same(
            clients[n].call_args("join", vec![json!(room)]).await?,
            vec![json!(true)],
            &format!("{} joins {room}", NAMES[n]),
        )?;
    }
    same(
        clients[1].call_args("rooms", vec![]).await?,
        vec![sorted(vec![ids[1].clone(), json!("r1"), json!("r2")])],
        "rooms of B",
    )?;

    let mut step = 0u32;
    let steps: Vec<RoomStep> = vec![
        (
            "A to r1",
            0,
            "to",
            Box::new(|t| vec![json!(["r1"]), json!(t)]),
            vec![1],
        ),
        (
            "A to r1+r2",
            0,
            "to",
            Box::new(|t| vec![json!(["r1", "r2"]), json!(t)]),
            vec![1, 2],
        ),
        (
            "C (not in r1) to r1",
            2,
            "to",
            Box::new(|t| vec![json!(["r1"]), json!(t)]),
            vec![0, 1],
        ),
        (
            "A broadcast",
            0,
            "broadcast",
            Box::new(|t| vec![json!(t)]),
            vec![1, 2],
        ),
        (
            "A except r1",
            0,
            "except",
            Box::new(|t| vec![json!("r1"), json!(t)]),
            vec![2],
        ),
        (
            "io.emit from A",
            0,
            "all",
            Box::new(|t| vec![json!(t)]),
            vec![0, 1, 2],
        ),
        (
            "io.to(r1) from A",
            0,
            "server-to",
            Box::new(|t| vec![json!("r1"), json!(t)]),
            vec![0, 1],
        ),
        (
            "A to B's own room",
            0,
            "to",
            Box::new({
                let b = ids[1].clone();
                move |t| vec![json!([b]), json!(t)]
            }),
            vec![1],
        ),
    ];
    for (label, actor, event, args, receivers) in steps {
        step += 1;
        run.step(&format!("{label} (step {step})"));
        let tag = format!("s{step}");
        clients[actor].emit(event, args(&tag)).await?;
        clients[actor]
            .call_args("marker", vec![json!(step)])
            .await?;
        for (n, conn) in clients.iter().enumerate() {
            let marker = vec![json!(step)];
            conn.inbox
                .until(&format!("marker {step} at {}", NAMES[n]), |events| {
                    events
                        .iter()
                        .any(|(e, p)| e == "marker" && *p == Payload::Text(marker.clone()))
                        .then_some(())
                })
                .await?;
            let got: Vec<Payload> = conn
                .inbox
                .received("msg")
                .into_iter()
                .filter(|p| *p == Payload::Text(vec![json!(tag)]))
                .collect();
            same(
                got.len(),
                usize::from(receivers.contains(&n)),
                &format!("{label}: messages at {}", NAMES[n]),
            )?;
        }
    }

    run.step("leave");
    same(
        clients[1].call_args("leave", vec![json!("r1")]).await?,
        vec![json!(true)],
        "B leaves r1",
    )?;
    same(
        clients[1].call_args("rooms", vec![]).await?,
        vec![sorted(vec![ids[1].clone(), json!("r2")])],
        "rooms of B after leaving r1",
    )?;
    Ok(())
}

async fn disconnect(run: &Run) -> Outcome {
    // One client leaves at a time: the observer's next "left" is its.
    let observer = Conn::open(run, Options::default()).await?;
    let server_reason = || async {
        let left = observer.next_text("left").await?;
        left.get(1)
            .cloned()
            .ok_or_else(|| format!("left: {left:?}"))
    };

    run.step("client disconnect");
    let a = Conn::open(run, Options::default()).await?;
    a.client
        .disconnect()
        .await
        .map_err(|e| format!("disconnect: {e}"))?;
    let reason = server_reason().await?;
    if reason == json!("transport close") {
        known("disconnect(): the server hears \"transport close\", not \"client namespace disconnect\" (same with the Node server)");
    } else {
        same(
            reason,
            json!("client namespace disconnect"),
            "server-side reason",
        )?;
    }

    for (label, event, transport) in [
        ("server disconnect", "kick-me", TransportType::Any),
        (
            "websocket: server disconnect with close",
            "kick-me-hard",
            TransportType::Websocket,
        ),
        (
            "polling: server disconnect with close",
            "kick-me-hard",
            TransportType::Polling,
        ),
    ] {
        run.step(label);
        let b = Conn::open(
            run,
            Options {
                transport,
                ..Options::default()
            },
        )
        .await?;
        b.emit(event, Vec::<Value>::new()).await?;
        b.inbox.next("close").await?;
        same(
            server_reason().await?,
            json!("server namespace disconnect"),
            "server-side reason",
        )?;
    }

    run.step("observer still connected");
    same(
        observer
            .call_args("echo", vec![json!("still here")])
            .await?,
        vec![json!("still here")],
        "observer echo",
    )?;
    note("rust_socketio 0.6 gives its close handler no reason");
    Ok(())
}

async fn transports(run: &Run, mode: &str) -> Outcome {
    let (transport, opened) = match mode {
        "polling" => (TransportType::Polling, "polling"),
        "websocket" => (TransportType::Websocket, "websocket"),
        "upgrade" => (TransportType::Any, "polling"),
        other => {
            return Err(format!(
                "mode {other:?}, expected polling, websocket or upgrade"
            ))
        }
    };
    run.step(&format!("{mode}: connect"));
    let conn = Conn::open(
        run,
        Options {
            transport,
            ..Options::default()
        },
    )
    .await?;
    same(
        conn.next_text("opened-with").await?,
        vec![json!(opened)],
        "server's handshake transport",
    )?;
    run.step(&format!("{mode}: round trips"));
    for i in 0..3 {
        let text = format!("{mode} {i} {} 🎉", "x".repeat(2000));
        same(
            conn.call_args("echo", vec![json!(text)]).await?,
            vec![json!(text)],
            &format!("echo {i}"),
        )?;
    }
    if mode == "upgrade" {
        note("rust_socketio does not say which transport it runs on: the upgrade is taken on trust here");
    }
    Ok(())
}
