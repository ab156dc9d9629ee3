//! The scenario servers. Each function sets up one [`SocketIo`]; its
//! client script `clients/<name>.js` says what it expects.
//!
//! Written against `sio_driver` only, so every runtime serves the
//! same scenarios.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sio_driver::{AckError, ConnectError, Socket};

use crate::{Config, Scenario, SocketIo};

/// Every scenario, in the order the suite runs them.
pub const ALL: &[Scenario] = &[
    Scenario {
        name: "connect",
        what: "connect to /, socket.id",
        config: no_change,
        setup: connect,
    },
    Scenario {
        name: "namespaces",
        what: "/admin, / + /admin multiplexed",
        config: no_change,
        setup: namespaces,
    },
    Scenario {
        name: "unknown-namespace",
        what: "connect_error Invalid namespace",
        config: no_change,
        setup: unknown_namespace,
    },
    Scenario {
        name: "auth-middleware",
        what: "handshake.auth, refusals with data",
        config: no_change,
        setup: auth_middleware,
    },
    Scenario {
        name: "json-types",
        what: "every JSON type, several args, both ways",
        config: no_change,
        setup: json_types,
    },
    Scenario {
        name: "max-payload",
        what: "maxHttpBufferSize 100 kB boundary",
        config: max_payload_config,
        setup: max_payload,
    },
    Scenario {
        name: "binary",
        what: "Buffers both ways, nested, typed Bytes",
        config: no_change,
        setup: binary,
    },
    Scenario {
        name: "acks",
        what: "acks both ways, timeouts both sides",
        config: no_change,
        setup: acks,
    },
    Scenario {
        name: "rooms",
        what: "join/leave, to, except, broadcast, io.emit",
        config: no_change,
        setup: rooms,
    },
    Scenario {
        name: "volatile",
        what: "volatile emit on an idle connection",
        config: no_change,
        setup: volatile,
    },
    Scenario {
        name: "disconnect",
        what: "disconnect reasons on both sides",
        config: no_change,
        setup: disconnect,
    },
    Scenario {
        name: "transports",
        what: "polling, websocket, upgrade",
        config: no_change,
        setup: transports,
    },
    Scenario {
        name: "heartbeat",
        what: "idle > 3 ping intervals (300/200 ms)",
        config: short_heartbeat,
        setup: heartbeat,
    },
    Scenario {
        name: "ping-timeout",
        what: "client that stops ponging is dropped",
        config: short_heartbeat,
        setup: ping_timeout,
    },
    Scenario {
        name: "restart",
        what: "server restarted under a client: it reconnects",
        config: no_change,
        setup: restart,
    },
    crate::compression::NODE,
    crate::compression::BROWSER,
    Scenario {
        name: "admin-protocol",
        what: "Admin UI protocol: auth, stats, sockets, commands",
        config: crate::admin::config,
        setup: crate::admin::setup,
    },
    Scenario {
        name: "admin-readonly",
        what: "Admin UI read-only: no commands",
        config: crate::admin::config,
        setup: crate::admin::setup_readonly,
    },
    Scenario {
        name: "recovery",
        what: "state recovery: 100 missed events, id, rooms; window",
        config: crate::recovery_scenarios::skip_config,
        setup: crate::recovery_scenarios::setup,
    },
    Scenario {
        name: "recovery-middleware",
        what: "state recovery with skipMiddlewares false",
        config: crate::recovery_scenarios::run_config,
        setup: crate::recovery_scenarios::setup,
    },
    crate::msgpack::SCENARIO,
    crate::socket_api::SCENARIO,
    crate::server_hooks::SCENARIO,
];

fn no_change(_: &mut Config) {}

/// Replies to `echo` with its arguments exactly as sent, binary included.
fn echo_handler(socket: &Socket) {
    socket.on_payload("echo", |_socket, payload, ack| async move {
        let _ = ack.send_raw(payload.args(), payload.attachments().to_vec());
    });
}

// ---------------------------------------------------------------- connect

fn connect(io: &SocketIo) {
    io.on_connection(|socket| async move {
        let _ = socket.emit("welcome", &(socket.id(), socket.ns()));
        echo_handler(&socket);
    });
}

// ------------------------------------------------------------- namespaces

fn namespaces(io: &SocketIo) {
    let where_am_i = |socket: Socket| async move {
        let _ = socket.emit("where", &(socket.ns(), socket.id()));
        socket.on("whoami", |socket, (): (), ack| async move {
            let _ = ack.send(&(socket.ns(), socket.id()));
        });
    };
    io.on_connection(where_am_i);
    io.of("/admin")
        .expect("/admin is a valid name")
        .on_connection(where_am_i);
}

// ------------------------------------------------------ unknown-namespace

fn unknown_namespace(io: &SocketIo) {
    io.on_connection(|socket| async move { echo_handler(&socket) });
}

// -------------------------------------------------------- auth-middleware

#[derive(Deserialize)]
struct Auth {
    token: String,
}

/// What middleware hands to the connection handler.
#[derive(Clone)]
struct User(String);

/// The `data` of a refusal; field order is what the client checks.
#[derive(Serialize)]
struct Refusal {
    code: u16,
    retry: bool,
    hint: Vec<&'static str>,
    detail: Option<u8>,
}

fn auth_middleware(io: &SocketIo) {
    io.use_middleware(|ctx| async move {
        match ctx.handshake().auth::<Auth>() {
            Some(auth) if auth.token == "s3cret" => {
                ctx.extensions().insert(User("alice".into()));
                Ok(())
            }
            Some(_) => Err(ConnectError::new("bad token").with_data(&Refusal {
                code: 4001,
                retry: false,
                hint: vec!["use", "s3cret"],
                detail: None,
            })),
            None => Err(ConnectError::new("no token")),
        }
    });
    // A second step runs only after the first accepted.
    io.use_middleware(|ctx| async move {
        if !ctx.extensions().contains::<User>() {
            return Err(ConnectError::new("second step ran without the first"));
        }
        match ctx.handshake().query("block").as_deref() {
            Some("yes") => Err(ConnectError::new("blocked by step two").with_data(&"query")),
            _ => Ok(()),
        }
    });
    io.on_connection(|socket| async move {
        let user = socket.extensions().get::<User>().map(|u| u.0);
        let token = socket.handshake().auth::<Auth>().map(|a| a.token);
        let _ = socket.emit("hello", &(user, token));
    });
    let admin = io.of("/admin").expect("/admin is a valid name");
    admin.use_middleware(|_ctx| async move { Err(ConnectError::new("admins only")) });
    admin.on_connection(|socket| async move {
        let _ = socket.emit("hello", &"should never connect");
    });
}

// ------------------------------------------------------------- json-types

#[derive(Serialize, Deserialize)]
struct Inner {
    x: f64,
    y: Option<i32>,
}

#[derive(Serialize, Deserialize)]
struct Nested {
    name: String,
    tags: Vec<String>,
    inner: Inner,
    empty: Vec<u8>,
}

type TypedArgs = (
    Option<u8>,
    bool,
    i64,
    f64,
    String,
    Vec<serde_json::Value>,
    Nested,
);

fn json_types(io: &SocketIo) {
    io.on_connection(|socket| async move {
        echo_handler(&socket);
        socket.on_payload("reflect", |socket, payload, _ack| async move {
            let _ = socket.emit_raw(payload.raw().clone(), payload.attachments().to_vec());
        });
        socket.on("événement 🎉", |_socket, text: String, ack| async move {
            let _ = ack.send(&(text.chars().count(), text));
        });
        socket.on("typed", |_socket, args: TypedArgs, ack| async move {
            let _ = ack.send(&args);
        });
        socket.on("no-args", |socket, (): (), _ack| async move {
            let _ = socket.emit("nothing", &());
        });
        let _ = socket.emit(
            "server-types",
            &(
                Option::<u8>::None,
                true,
                false,
                0,
                -1,
                9_007_199_254_740_991_i64,
                0.5,
                1e300,
                "héllo wörld ☃ 🎉 \"q\" \\ \n\t\u{0}\u{2028}",
                vec![vec![1, 2], vec![], vec![3]],
                Nested {
                    name: "n".into(),
                    tags: vec!["a".into(), "b".into()],
                    inner: Inner { x: -1.25, y: None },
                    empty: vec![],
                },
            ),
        );
    });
}

// ------------------------------------------------------------ max-payload

/// The `maxHttpBufferSize` of the max-payload scenario.
pub const MAX_PAYLOAD: usize = 100_000;

fn max_payload_config(config: &mut Config) {
    config.engine.max_http_buffer_size = MAX_PAYLOAD;
}

fn max_payload(io: &SocketIo) {
    io.on_connection(|socket| async move { echo_handler(&socket) });
}

// ----------------------------------------------------------------- binary

#[derive(Serialize)]
struct BinDoc {
    label: &'static str,
    blob: Bytes,
    parts: Vec<Bytes>,
    deep: Vec<Vec<Bytes>>,
}

fn binary(io: &SocketIo) {
    io.on_connection(|socket| async move {
        echo_handler(&socket);
        socket.on_payload("reflect", |socket, payload, _ack| async move {
            let _ = socket.emit_raw(payload.raw().clone(), payload.attachments().to_vec());
        });
        // Typed binary in: answers the lengths and the first buffer reversed.
        socket.on(
            "typed-bin",
            |_socket, (name, data, list): (String, Bytes, Vec<Bytes>), ack| async move {
                let reversed: Vec<u8> = data.iter().rev().copied().collect();
                let lengths: Vec<usize> = list.iter().map(Bytes::len).collect();
                let _ = ack.send(&(name, Bytes::from(reversed), lengths));
            },
        );
        let _ = socket.emit(
            "server-bin",
            &(
                Bytes::from_static(&[0, 1, 2, 255]),
                BinDoc {
                    label: "doc",
                    blob: Bytes::from_static(b"blob"),
                    parts: vec![Bytes::from_static(&[]), Bytes::from(vec![7u8; 1000])],
                    deep: vec![vec![Bytes::from_static(b"x")]],
                },
                "after",
            ),
        );
    });
}

// ------------------------------------------------------------------- acks

fn acks(io: &SocketIo) {
    let io = io.clone();
    io.clone().on_connection(move |socket| {
        let io = io.clone();
        async move {
            socket.on("double", |_socket, n: i64, ack| async move {
                let _ = ack.send(&(n * 2));
            });
            socket.on("two-answers", |_socket, (): (), ack| async move {
                let _ = ack.send(&("first", 2, [3]));
            });
            // Never answered: the client's timeout must fire.
            socket.on("never-acked", |_socket, (): (), _ack| async move {});
            // The server asks the client; reports what came back.
            socket.on("ask-me", |socket, (): (), _ack| async move {
                let reply = socket
                    .emit_with_ack::<_, (i64, String)>("question", &(1, 2))
                    .await;
                let _ = match reply {
                    Ok((sum, word)) => socket.emit("answer", &("ok", sum, word)),
                    Err(e) => socket.emit("answer", &("error", 0, e.to_string())),
                };
            });
            // The client never answers "ignore-me": the server's deadline must fire.
            socket.on("server-timeout", |socket, ms: u64, _ack| async move {
                let started = std::time::Instant::now();
                let reply = socket
                    .timeout(Duration::from_millis(ms))
                    .emit_with_ack::<_, serde_json::Value>("ignore-me", &())
                    .await;
                let waited = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let outcome = match reply {
                    Err(AckError::Timeout) => "timeout".to_owned(),
                    Ok(v) => format!("acked {v}"),
                    Err(e) => format!("error {e}"),
                };
                let _ = socket.emit("server-timeout-result", &(outcome, waited));
            });
            // A broadcast with acks: every socket of / answers.
            socket.on("collect", move |socket, (): (), ack| {
                let io = io.clone();
                async move {
                    let replies = io
                        .timeout(Duration::from_secs(5))
                        .emit_with_ack::<_, String>("roll-call", &socket.id())
                        .await;
                    let _ = match replies {
                        Ok(mut names) => {
                            names.sort();
                            ack.send(&("ok", names))
                        }
                        Err(e) => ack.send(&(e.to_string(), Vec::<String>::new())),
                    };
                }
            });
        }
    });
}

// ------------------------------------------------------------------ rooms

fn rooms(io: &SocketIo) {
    let io = io.clone();
    io.clone().on_connection(move |socket| {
        let io = io.clone();
        async move {
            socket.on("join", |socket, room: String, ack| async move {
                let _ = ack.send(&socket.join(&room).is_ok());
            });
            socket.on("leave", |socket, room: String, ack| async move {
                let _ = ack.send(&socket.leave(&room).is_ok());
            });
            socket.on("rooms", |socket, (): (), ack| async move {
                let mut rooms = socket.rooms();
                rooms.sort();
                let _ = ack.send(&rooms);
            });
            // Each sends ("msg", tag) with some operator; the client checks who got it.
            socket.on(
                "to",
                |socket, (rooms, tag): (Vec<String>, String), _ack| async move {
                    let Some((first, rest)) = rooms.split_first() else {
                        return;
                    };
                    let op = rest.iter().fold(socket.to(first), |op, r| op.to(r));
                    let _ = op.emit("msg", &tag);
                },
            );
            socket.on(
                "except",
                |socket, (room, tag): (String, String), _ack| async move {
                    let _ = socket.except(&room).emit("msg", &tag);
                },
            );
            socket.on("broadcast", |socket, tag: String, _ack| async move {
                let _ = socket.broadcast().emit("msg", &tag);
            });
            let all = io.clone();
            socket.on("all", move |_socket, tag: String, _ack| {
                let io = all.clone();
                async move {
                    let _ = io.emit("msg", &tag);
                }
            });
            let server_to = io.clone();
            socket.on(
                "server-to",
                move |_socket, (room, tag): (String, String), _ack| {
                    let io = server_to.clone();
                    async move {
                        let _ = io.to(&room).emit("msg", &tag);
                    }
                },
            );
            // Sent after each step: once every client has it, the step's
            // messages have all arrived (one connection keeps its order).
            let marker = io.clone();
            socket.on("marker", move |_socket, step: u32, ack| {
                let io = marker.clone();
                async move {
                    let _ = io.emit("marker", &step);
                    let _ = ack.send(&());
                }
            });
        }
    });
}

// --------------------------------------------------------------- volatile

fn volatile(io: &SocketIo) {
    let io = io.clone();
    io.clone().on_connection(move |socket| {
        let io = io.clone();
        async move {
            socket.on("volatile-please", |socket, tag: String, _ack| async move {
                let _ = socket.volatile().emit("v", &(tag, "socket"));
            });
            socket.on("volatile-all", move |_socket, tag: String, _ack| {
                let io = io.clone();
                async move {
                    let _ = io.volatile().emit("v", &(tag, "io"));
                }
            });
        }
    });
}

// ------------------------------------------------------------- disconnect

fn disconnect(io: &SocketIo) {
    let main = io.clone();
    let other = io.of("/other").expect("/other is a valid name");
    for nsp in [io.of("/").expect("/ exists"), other] {
        let io = main.clone();
        nsp.on_connection(move |socket| {
            let io = io.clone();
            async move {
                // Every departure is announced to whoever is left.
                socket.on_disconnect(move |socket, reason| {
                    let io = io.clone();
                    async move {
                        let _ = io.emit("left", &(socket.id(), reason.as_str()));
                    }
                });
                socket.on("kick-me", |socket, (): (), _ack| async move {
                    let _ = socket.disconnect();
                });
                socket.on("kick-me-hard", |socket, (): (), _ack| async move {
                    let _ = socket.disconnect_connection();
                });
                echo_handler(&socket);
            }
        });
    }
}

// ------------------------------------------------------------- transports

fn transports(io: &SocketIo) {
    io.on_connection(|socket| async move {
        let _ = socket.emit("opened-with", &socket.handshake().transport().as_str());
        echo_handler(&socket);
    });
}

// -------------------------------------------------------------- heartbeat

fn short_heartbeat(config: &mut Config) {
    config.engine.ping_interval = Duration::from_millis(300);
    config.engine.ping_timeout = Duration::from_millis(200);
}

fn heartbeat(io: &SocketIo) {
    io.on_connection(|socket| async move { echo_handler(&socket) });
}

// ----------------------------------------------------------- ping-timeout

fn ping_timeout(io: &SocketIo) {
    disconnect(io);
}

// ---------------------------------------------------------------- restart

/// The runner restarts the server on the same port when the client prints
/// `RESTART`; `hello` carries the server's process id so the client can
/// tell the new server from the old one.
fn restart(io: &SocketIo) {
    io.on_connection(|socket| async move {
        let _ = socket.emit("hello", &std::process::id());
        socket.on("whoami", |socket, (): (), ack| async move {
            let _ = ack.send(&(socket.id(), std::process::id()));
        });
        echo_handler(&socket);
    });
}
