//! The socket's handler API beyond `on`: per-packet middleware (Node's
//! `socket.use` with its `error` event), `once`, `off`, `prepend_any`,
//! `off_any`, and the outgoing catch-all handlers, on virtual time with a
//! raw client.

use std::sync::{Arc, Mutex};

use sio_driver::testing::{RawClient, VirtualRuntime};
use sio_driver::{
    client_socket, ClientConfig, ClientSocket, Config, PacketError, Payload, Socket, SocketIo,
};

#[derive(Clone)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn new() -> Self {
        Log(Arc::new(Mutex::new(Vec::new())))
    }
    fn push(&self, value: impl Into<String>) {
        self.0.lock().unwrap().push(value.into());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A server whose `/` sockets get `setup` in their connection handler.
fn server(rt: &VirtualRuntime, setup: impl Fn(&Socket) + Send + Sync + 'static) -> SocketIo {
    let io = SocketIo::with_runtime(rt.clone(), Config::default());
    let setup = Arc::new(setup);
    io.on_connection(move |socket| {
        let setup = setup.clone();
        async move { setup(&socket) }
    });
    io
}

fn log_event(
    log: &Log,
    tag: &'static str,
) -> impl Fn(Socket, String, sio_driver::AckSender) -> std::future::Ready<()> + Send + Sync + 'static
{
    let log = log.clone();
    move |_, arg: String, _| {
        log.push(format!("{tag}:{arg}"));
        std::future::ready(())
    }
}

#[test]
fn packet_middleware_runs_in_order_and_an_error_drops_the_packet() {
    let rt = VirtualRuntime::new();
    let log = Log::new();
    let l = log.clone();
    let io = server(&rt, move |socket| {
        let (a, b) = (l.clone(), l.clone());
        socket.use_packet(move |_, payload: Payload| {
            let a = a.clone();
            async move {
                a.push(format!("mw1:{}", payload.event().unwrap_or_default()));
                Ok(())
            }
        });
        socket.use_packet(move |_, payload: Payload| {
            let b = b.clone();
            async move {
                b.push("mw2");
                let (arg,): (String,) = payload
                    .decode()
                    .map_err(|e| PacketError::new(e.to_string()))?;
                if arg == "bad" {
                    return Err(PacketError::new("refused"));
                }
                Ok(())
            }
        });
        let e = l.clone();
        socket.on_error(move |_, error| {
            let e = e.clone();
            async move { e.push(format!("error:{error}")) }
        });
        socket.on("msg", log_event(&l, "msg"));
    });
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    client.send_text(r#"42["msg","good"]"#, &[]);
    rt.run_until_idle();
    assert_eq!(log.take(), ["mw1:msg", "mw2", "msg:good"]);
    client.send_text(r#"42["msg","bad"]"#, &[]);
    rt.run_until_idle();
    assert_eq!(log.take(), ["mw1:msg", "mw2", "error:refused"]);
    // The refusal is local: nothing goes to the client, and it stays connected.
    assert!(client.recv().is_none());
    assert_eq!(client.closed(), None);
    client.send_text(r#"42["msg","again"]"#, &[]);
    rt.run_until_idle();
    assert_eq!(log.take(), ["mw1:msg", "mw2", "msg:again"]);
}

#[test]
fn a_packet_middleware_error_acks_nothing_and_a_pass_keeps_the_ack() {
    let rt = VirtualRuntime::new();
    let io = server(&rt, |socket| {
        socket.use_packet(|_, payload: Payload| async move {
            match payload.event().as_deref() {
                Some("no") => Err(PacketError::new("no")),
                _ => Ok(()),
            }
        });
        for event in ["yes", "no"] {
            socket.on(event, |_, (): (), ack| async move {
                let _ = ack.send(&("acked",));
            });
        }
    });
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    client.send_text(r#"421["no"]"#, &[]);
    client.send_text(r#"422["yes"]"#, &[]);
    assert_eq!(client.recv_text(), r#"432["acked"]"#);
    assert!(client.recv().is_none());
}

#[test]
fn once_runs_for_the_next_event_only_and_off_removes_a_handler() {
    let rt = VirtualRuntime::new();
    let log = Log::new();
    let l = log.clone();
    let io = server(&rt, move |socket| {
        socket.once("first", log_event(&l, "first"));
        socket.on("gone", log_event(&l, "gone"));
        socket.on("off", |socket, event: String, _| async move {
            socket.off(&event);
        });
    });
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    client.send_text(r#"42["first","1"]"#, &[]);
    client.send_text(r#"42["first","2"]"#, &[]);
    client.send_text(r#"42["gone","1"]"#, &[]);
    client.send_text(r#"42["off","gone"]"#, &[]);
    client.send_text(r#"42["gone","2"]"#, &[]);
    rt.run_until_idle();
    assert_eq!(log.take(), ["first:1", "gone:1"]);
}

#[test]
fn prepend_any_runs_first_and_off_any_removes_one_or_all() {
    let rt = VirtualRuntime::new();
    let log = Log::new();
    let l = log.clone();
    let io = server(&rt, move |socket| {
        let tagged = |tag: &'static str| {
            let l = l.clone();
            move |_: Socket, payload: Payload| {
                l.push(format!("{tag}:{}", payload.event().unwrap_or_default()));
                std::future::ready(())
            }
        };
        let b = socket.on_any(tagged("b"));
        socket.prepend_any(tagged("a"));
        socket.on("drop_b", move |socket, (): (), _| async move {
            assert!(socket.off_any(b));
            assert!(!socket.off_any(b), "already removed");
        });
        socket.on("drop_all", |socket, (): (), _| async move {
            socket.off_all_any()
        });
    });
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    client.send_text(r#"42["x"]"#, &[]);
    client.send_text(r#"42["drop_b"]"#, &[]);
    client.send_text(r#"42["y"]"#, &[]);
    client.send_text(r#"42["drop_all"]"#, &[]);
    client.send_text(r#"42["z"]"#, &[]);
    rt.run_until_idle();
    assert_eq!(
        log.take(),
        ["a:x", "b:x", "a:drop_b", "b:drop_b", "a:y", "a:drop_all"]
    );
}

#[test]
fn outgoing_catch_all_handlers_see_each_emit_until_removed() {
    let rt = VirtualRuntime::new();
    let log = Log::new();
    let l = log.clone();
    let io = server(&rt, move |socket| {
        let tagged = |tag: &'static str| {
            let l = l.clone();
            move |_: Socket, payload: Payload| {
                l.push(format!("{tag}:{}", payload.raw().as_str()));
                std::future::ready(())
            }
        };
        let second = socket.on_any_outgoing(tagged("second"));
        socket.prepend_any_outgoing(tagged("first"));
        socket.on("stop", move |socket, (): (), _| async move {
            assert!(socket.off_any_outgoing(second));
            let _ = socket.emit("after", &1);
            socket.off_all_any_outgoing();
            let _ = socket.emit("silent", &());
        });
        let _ = socket.emit("hello", &("x", 2));
        // The emit goes out as it is called; the reply is not awaited.
        drop(
            socket
                .timeout(std::time::Duration::from_secs(5))
                .emit_with_ack::<_, ()>("asked", &()),
        );
        // Broadcasts are not this socket's own emits.
        let _ = socket.to("room").emit("room", &());
    });
    let (mut client, _) = RawClient::connect(&rt, &io, "/", None);
    rt.run_until_idle();
    assert_eq!(
        log.take(),
        [
            r#"first:["hello","x",2]"#,
            r#"second:["hello","x",2]"#,
            r#"first:["asked"]"#,
            r#"second:["asked"]"#,
        ]
    );
    assert_eq!(client.recv_text(), r#"42["hello","x",2]"#);
    client.send_text(r#"42["stop"]"#, &[]);
    rt.run_until_idle();
    assert_eq!(log.take(), [r#"first:["after",1]"#]);
}

// ----- the client socket -----

/// A server that answers "ping" with "pong" (its argument), and a client
/// socket to it, set up by `setup` before it connects.
fn client_pair(rt: &VirtualRuntime, setup: impl FnOnce(&ClientSocket)) -> (SocketIo, ClientSocket) {
    let io = server(rt, |socket| {
        socket.on("ping", |socket, n: u32, _| async move {
            let _ = socket.emit("pong", &n);
        });
    });
    rt.listen("localhost", 3000, &io);
    let client =
        client_socket(rt.clone(), "http://localhost:3000", ClientConfig::default()).unwrap();
    setup(&client);
    client.connect();
    rt.run_until_idle();
    assert!(client.connected());
    (io, client)
}

fn client_tagged(
    log: &Log,
    tag: &'static str,
) -> impl Fn(ClientSocket, Payload) -> std::future::Ready<()> + Send + Sync + 'static {
    let log = log.clone();
    move |_, payload: Payload| {
        log.push(format!("{tag}:{}", payload.raw().as_str()));
        std::future::ready(())
    }
}

#[test]
fn client_once_off_and_catch_all_handlers() {
    let rt = VirtualRuntime::new();
    let log = Log::new();
    let (_io, client) = client_pair(&rt, |client| {
        let l = log.clone();
        client.once("pong", move |_, n: u32, _| {
            l.push(format!("once:{n}"));
            std::future::ready(())
        });
    });
    let b = client.on_any(client_tagged(&log, "b"));
    client.prepend_any(client_tagged(&log, "a"));
    client.emit("ping", &1).unwrap();
    client.emit("ping", &2).unwrap();
    rt.run_until_idle();
    assert_eq!(
        log.take(),
        [
            r#"a:["pong",1]"#,
            r#"b:["pong",1]"#,
            "once:1",
            r#"a:["pong",2]"#,
            r#"b:["pong",2]"#
        ]
    );
    assert!(client.off_any(b));
    assert!(!client.off_any(b));
    let l = log.clone();
    client.on("pong", move |_, n: u32, _| {
        l.push(format!("on:{n}"));
        std::future::ready(())
    });
    client.emit("ping", &3).unwrap();
    rt.run_until_idle();
    assert_eq!(log.take(), [r#"a:["pong",3]"#, "on:3"]);
    assert!(client.off("pong"));
    client.off_all_any();
    client.emit("ping", &4).unwrap();
    rt.run_until_idle();
    assert_eq!(log.take(), Vec::<String>::new());
}

#[test]
fn client_outgoing_catch_all_handlers() {
    let rt = VirtualRuntime::new();
    let log = Log::new();
    let (_io, client) = client_pair(&rt, |_| {});
    let second = client.on_any_outgoing(client_tagged(&log, "second"));
    client.prepend_any_outgoing(client_tagged(&log, "first"));
    client.emit("ping", &1).unwrap();
    drop(
        client
            .timeout(std::time::Duration::from_secs(1))
            .emit_with_ack::<_, ()>("asked", &()),
    );
    assert!(client.off_any_outgoing(second));
    client.volatile().emit("ping", &2).unwrap();
    client.off_all_any_outgoing();
    client.emit("ping", &3).unwrap();
    rt.run_until_idle();
    assert_eq!(
        log.take(),
        [
            r#"first:["ping",1]"#,
            r#"second:["ping",1]"#,
            r#"first:["asked"]"#,
            r#"second:["asked"]"#,
            r#"first:["ping",2]"#,
        ]
    );
}
