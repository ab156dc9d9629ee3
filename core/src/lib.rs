//! # sio-core
//!
//! The sans-IO heart of sio: Socket.IO v5 over Engine.IO v4, written as pure
//! state machines. Nothing in this crate opens a socket, reads a clock,
//! spawns a task or draws randomness of its own; bytes and time come in as
//! arguments and everything the caller must do comes back out as values.
//!
//! ## The run loop
//!
//! Every state machine in this crate is driven the same way:
//!
//! 1. feed it an input (`handle_*(now, ...)`: bytes from a connection, a
//!    parsed HTTP request, a WebSocket message, a closed connection, or an
//!    application command),
//! 2. call `poll_output()` until it returns `Output::Timeout(instant)`,
//!    acting on every other output (write bytes, send a response, hand an
//!    event to the application),
//! 3. wait for new input or for that instant, whichever comes first; at the
//!    instant call `handle_timeout(now)`, then go back to 2.
//!
//! ## Layers
//!
//! Modules only reach down:
//!
//! - [`wire`]: HTTP/1.1 request heads and responses, the WebSocket opening
//!   handshake and the RFC 6455 frame codec.
//! - [`engine`]: Engine.IO v4 packets, polling payloads and the handshake.
//! - [`msgpack`]: JavaScript values as notepack.io encodes them (MessagePack),
//!   and their JSON forms.
//! - [`packet`]: Socket.IO v5 packets, binary attachments, the [`packet::Parser`]
//!   trait with its JSON and MessagePack parsers.
//! - [`server`]: the Socket.IO server: namespaces, sockets, acks, rooms, broadcasts.
//! - [`adapter`]: what crosses between server nodes, in the reference Redis
//!   adapter's formats.
//! - [`client`]: the Socket.IO client: one connection, many namespaces,
//!   reconnection with backoff, buffered emits, acks.
//!
//! ## Blame
//!
//! Malformed input from the peer is never a panic: decoders return typed
//! errors that name the fault, and the state machines turn those into the
//! protocol's own reaction (a 400, a close frame, a CONNECT_ERROR, a
//! disconnect with a reason). A `Result` error from a method call means the
//! caller misused the API.
//!
//! ## Features
//!
//! - `std` (default): `std::error::Error` impls and conversions from
//!   `std::time::Instant`. Without it the crate needs only `alloc`, so it
//!   runs on embedded targets.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
// std is only for conveniences (error trait, std::time conversions); the
// protocol logic must keep building without it.
#[cfg(feature = "std")]
extern crate std;

pub mod adapter;
pub mod client;
mod decimal;
pub mod engine;
pub mod msgpack;
pub mod packet;
pub mod server;
pub mod time;
pub mod wire;

pub use time::Instant;
