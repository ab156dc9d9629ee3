//! The hostile-client suite: one server ([`SERVER`], served as
//! `scenario-server <runtime> hostile`) with short timeouts and a small
//! backlog bound, and one attack script per [`CASES`] entry
//! (`clients/hostile/<name>.js`). Each script runs a well-behaved probe
//! (socket.io-client, an acked emit every 100 ms) beside its attack and
//! checks that the server lives, that every probe ack comes within 1 s,
//! and that the server's RSS returns near its baseline afterwards.
//!
//! The scripts ask the server for these limits (`limits`), so the numbers
//! live here only.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Config, Scenario, SocketIo};

/// The server every hostile case attacks.
pub static SERVER: Scenario = Scenario {
    name: "hostile",
    what: "short HTTP timeouts, 4 MiB backlog bound, 100 kB payloads",
    config,
    setup,
};

/// The environment of the hostile server. glibc's malloc otherwise
/// raises its mmap threshold as large blocks are freed and keeps what they
/// come back to in its arenas, so RSS stays high after buffers that *were*
/// freed; a fixed threshold returns every block of 64 KiB and more to the
/// system on free, and the RSS the scripts watch tracks what sio holds.
pub const SERVER_ENV: &[(&str, &str)] = &[("MALLOC_MMAP_THRESHOLD_", "65536")];

/// One attack.
pub struct Case {
    /// Row name; the script is `clients/hostile/<name without "hostile-">.js`.
    pub name: &'static str,
    /// What it does, in a few words.
    pub what: &'static str,
    /// The server runs under `ulimit -n <this>` when set.
    pub fd_limit: Option<u32>,
}

/// Every case, in the order the suite runs them.
pub const CASES: &[Case] = &[
    Case {
        name: "hostile-fds",
        what: "more idle connections than descriptors (ulimit -n 256)",
        fd_limit: Some(256),
    },
    Case {
        name: "hostile-slow-heads",
        what: "request heads a byte at a time: 408 + close",
        fd_limit: None,
    },
    Case {
        name: "hostile-keep-alive",
        what: "idle keep-alive connections are closed",
        fd_limit: None,
    },
    Case {
        name: "hostile-slow-bodies",
        what: "POST bodies a byte at a time: 408 + close",
        fd_limit: None,
    },
    Case {
        name: "hostile-stalled-reader",
        what: "a reader that stops reading under a 24 MB fan-out",
        fd_limit: None,
    },
    Case {
        name: "hostile-burst",
        what: "20,000 messages in rounds readers keep up with: all arrive",
        fd_limit: None,
    },
    Case {
        name: "hostile-oversize",
        what: "oversize POST bodies and WebSocket frames",
        fd_limit: None,
    },
    Case {
        name: "hostile-attachments",
        what: "BINARY_EVENT attachment bombs",
        fd_limit: None,
    },
    Case {
        name: "hostile-nested-json",
        what: "deeply nested JSON in every packet kind",
        fd_limit: None,
    },
    Case {
        name: "hostile-ws-violations",
        what: "bad opcodes, unmasked, bad UTF-8, big control frames, garbage",
        fd_limit: None,
    },
];

/// The case called `name`.
pub fn case(name: &str) -> Option<&'static Case> {
    CASES.iter().find(|c| c.name == name)
}

/// Short enough that every case runs in seconds, long enough that a
/// loaded CI machine does not trip them on the well-behaved probe.
const HEADERS_TIMEOUT: Duration = Duration::from_millis(500);
const BODY_TIMEOUT: Duration = Duration::from_millis(500);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_millis(300);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Small enough that a stalled reader is dropped after a few MB, large
/// enough for a round of the burst (about 0.7 MB) to fit.
const MAX_BUFFERED_BYTES: usize = 4 * 1024 * 1024;
const MAX_HTTP_BUFFER_SIZE: usize = 100_000;

fn config(config: &mut Config) {
    let engine = &mut config.engine;
    engine.headers_timeout = HEADERS_TIMEOUT;
    engine.body_timeout = BODY_TIMEOUT;
    engine.keep_alive_timeout = KEEP_ALIVE_TIMEOUT;
    engine.close_timeout = CLOSE_TIMEOUT;
    engine.max_buffered_bytes = MAX_BUFFERED_BYTES;
    engine.max_http_buffer_size = MAX_HTTP_BUFFER_SIZE;
}

/// What `limits` answers: the configuration the scripts need, and the
/// process id whose RSS they watch.
#[derive(Serialize)]
struct Limits {
    pid: u32,
    headers_timeout_ms: u128,
    body_timeout_ms: u128,
    keep_alive_timeout_ms: u128,
    close_timeout_ms: u128,
    max_buffered_bytes: usize,
    max_buffered_packets: usize,
    max_http_buffer_size: usize,
    max_attachments: usize,
    max_attachment_bytes: usize,
}

/// `fan-out` and `burst`: send `count` messages of `size` bytes to `room`.
#[derive(Deserialize)]
struct Flood {
    room: String,
    count: u32,
    size: usize,
}

fn setup(io: &SocketIo) {
    let mut limits = Config::default();
    config(&mut limits);
    let limits = Limits {
        pid: std::process::id(),
        headers_timeout_ms: limits.engine.headers_timeout.as_millis(),
        body_timeout_ms: limits.engine.body_timeout.as_millis(),
        keep_alive_timeout_ms: limits.engine.keep_alive_timeout.as_millis(),
        close_timeout_ms: limits.engine.close_timeout.as_millis(),
        max_buffered_bytes: limits.engine.max_buffered_bytes,
        max_buffered_packets: limits.engine.max_buffered_packets,
        max_http_buffer_size: limits.engine.max_http_buffer_size,
        max_attachments: limits.packet_limits.max_attachments,
        max_attachment_bytes: limits.packet_limits.max_attachment_bytes,
    };
    let limits = serde_json::to_value(&limits).unwrap_or_default();
    let server = io.clone();
    io.on_connection(move |socket| {
        let limits = limits.clone();
        let io = server.clone();
        async move {
            socket.on("limits", move |_socket, (): (), ack| {
                let limits = limits.clone();
                async move {
                    let _ = ack.send(&limits);
                }
            });
            // The probe's heartbeat.
            socket.on("ping", |_socket, n: u64, ack| async move {
                let _ = ack.send(&n);
            });
            socket.on("join", |socket, room: String, ack| async move {
                let _ = ack.send(&socket.join(&room).is_ok());
            });
            // Sockets still connected: tells a script that the server
            // dropped what it attacked with.
            let count = io.clone();
            socket.on("count", move |_socket, (): (), ack| {
                let io = count.clone();
                async move {
                    let _ = ack.send(&io.socket_count());
                }
            });
            // Acked after the messages: the reader that asked has them
            // all when the ack comes (one connection keeps its order), so
            // a reader that asks again and again sets the pace.
            let fan = io.clone();
            socket.on("fan-out", move |_socket, flood: Flood, ack| {
                let io = fan.clone();
                async move {
                    let blob = "x".repeat(flood.size);
                    for i in 0..flood.count {
                        let _ = io.to(&flood.room).emit("big", &(i, &blob));
                    }
                    let _ = ack.send(&flood.count);
                }
            });
            // All at once: the readers' backlog is the whole burst.
            let burst = io.clone();
            socket.on("burst", move |_socket, flood: Flood, ack| {
                let io = burst.clone();
                async move {
                    let blob = "y".repeat(flood.size);
                    for i in 0..flood.count {
                        let _ = io.to(&flood.room).emit("b", &(i, &blob));
                    }
                    let _ = ack.send(&flood.count);
                }
            });
            // Deserializes into a JSON tree: deep nesting must be refused,
            // not recursed into until the stack runs out.
            socket.on(
                "typed",
                |_socket, value: serde_json::Value, ack| async move {
                    let _ = ack.send(&value.is_array());
                },
            );
            socket.on_payload("echo", |_socket, payload, ack| async move {
                let _ = ack.send_raw(payload.args(), payload.attachments().to_vec());
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults are the documented ones: Node's (engine.io, socket.io,
    /// `http.Server`, `ws`) where Node has one.
    #[test]
    fn defaults_are_the_documented_ones() {
        let config = Config::default();
        let engine = &config.engine;
        // engine.io: pingInterval, pingTimeout, upgradeTimeout, maxHttpBufferSize, path.
        assert_eq!(engine.ping_interval, Duration::from_millis(25_000));
        assert_eq!(engine.ping_timeout, Duration::from_millis(20_000));
        assert_eq!(engine.upgrade_timeout, Duration::from_millis(10_000));
        assert_eq!(engine.max_http_buffer_size, 1_000_000);
        assert_eq!(engine.path, "/socket.io/");
        // http.Server: headersTimeout, keepAliveTimeout.
        assert_eq!(engine.headers_timeout, Duration::from_millis(60_000));
        assert_eq!(engine.keep_alive_timeout, Duration::from_millis(5_000));
        // ws: closeTimeout.
        assert_eq!(engine.close_timeout, Duration::from_millis(30_000));
        // socket.io: connectTimeout.
        assert_eq!(config.connect_timeout, Duration::from_millis(45_000));
        // sio's own (Node has no such bound): as documented on the fields.
        assert_eq!(engine.body_timeout, Duration::from_millis(30_000));
        assert_eq!(engine.max_buffered_bytes, 16 * 1024 * 1024);
        assert_eq!(engine.max_buffered_packets, 10_000);
        assert_eq!(config.packet_limits.max_attachments, 10);
        assert_eq!(config.packet_limits.max_attachment_bytes, 1_000_000);
    }

    /// The hostile server's timeouts are shorter than the defaults, so
    /// the cases run in seconds, and its backlog bound holds the burst.
    #[test]
    fn hostile_config_is_short() {
        let mut hostile = Config::default();
        config(&mut hostile);
        let engine = &hostile.engine;
        assert!(engine.headers_timeout < Duration::from_secs(1));
        assert!(engine.body_timeout < Duration::from_secs(1));
        assert!(engine.keep_alive_timeout < Duration::from_secs(1));
        assert!(engine.close_timeout <= Duration::from_secs(1));
        // The burst script sends rounds of 5,000 messages of about 130
        // bytes, 20,000 in all: a round fits both bounds, the whole burst
        // passes the packet bound.
        assert!(5_000 * 130 * 2 < engine.max_buffered_bytes);
        assert!(5_000 * 2 <= engine.max_buffered_packets);
        assert!(20_000 > engine.max_buffered_packets);
    }
}
