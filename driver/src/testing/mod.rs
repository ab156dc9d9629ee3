//! Testing the driver on virtual time (feature `testing`): a
//! [`VirtualRuntime`], in-memory connections ([`pipe()`]) and a raw
//! wire-level client ([`RawClient`]). No sockets, no threads, no sleeping:
//! a test is exact and deterministic, and runs in microseconds of real time
//! whatever the virtual time it covers.
//!
//! # How it runs
//!
//! [`VirtualRuntime`] is a [`Runtime`](crate::Runtime) whose tasks run on
//! the test's own thread, only while the test drives it:
//!
//! - [`VirtualRuntime::run_until_idle`] polls woken tasks, in wake order,
//!   until none is left. Time stands still.
//! - [`VirtualRuntime::advance`] moves virtual time: the timers due in the
//!   span fire in deadline order (ties in arming order), the clock reading
//!   exactly each deadline while the tasks it woke run; it ends at exactly
//!   the target.
//! - [`VirtualRuntime::block_on`] runs a future to completion, jumping from
//!   timer to timer while it waits.
//!
//! `now()` is a real `Instant` read once (the epoch) plus virtual time;
//! `wall_clock()` is a fixed date plus virtual time.
//!
//! # Connections
//!
//! [`VirtualRuntime::listen`] makes a [`SocketIo`](crate::SocketIo)
//! reachable by the runtime's [`Connector`](crate::Connector): each
//! `connect(host, port)` of a client on this runtime gets one end of a
//! fresh [`pipe()`], the other end served by `serve_connection`. The
//! [`Listener`] it returns records when connections were attempted, can
//! refuse new ones and close or break the open ones.
//! [`RawClient`] talks to a server over such a pipe with sio-core's codecs,
//! for exact wire control (a client that stops answering pings, say).
//!
//! # A test
//!
//! ```
//! use std::time::Duration;
//! use sio_driver::testing::{RawClient, VirtualRuntime};
//! use sio_driver::{Config, SocketIo};
//!
//! let rt = VirtualRuntime::new();
//! let io = SocketIo::with_runtime(rt.clone(), Config::default());
//! io.on_connection(|socket| async move {
//!     socket.on("echo", |_, n: u32, ack| async move {
//!         let _ = ack.send(&(n + 1));
//!     });
//! });
//! let (mut client, reply) = RawClient::connect(&rt, &io, "/", None);
//! assert!(reply.text.starts_with("40{\"sid\":"));
//! client.send_text("421[\"echo\",41]", &[]);
//! assert_eq!(client.recv_text(), "431[42]");
//! // Half a minute of heartbeats, at once: one ping (at 25 s), answered
//! // when the client reads.
//! rt.advance(Duration::from_secs(30));
//! assert_eq!(client.closed(), None);
//! assert_eq!(client.pings(), 1);
//! ```
//!
//! The sio client runs on the same runtime: `rt.listen("localhost", 3000,
//! &io)`, then `client_socket(rt.clone(), "http://localhost:3000", config)`.
//! Handlers report to the test through channels (or shared state) that the
//! test reads after driving the runtime. Set the client's
//! `randomization_factor` to 0 for reconnection delays without jitter.

mod pipe;
mod raw;
mod runtime;

pub use pipe::{pipe, PipeControl, PipeEnd, DEFAULT_CAPACITY};
pub use raw::{RawClient, Received};
pub use runtime::{Listener, Spawned, VirtualRuntime};
