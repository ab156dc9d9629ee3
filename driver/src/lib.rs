//! # sio-driver
//!
//! The user API and async driver of sio, written once for every runtime
//! (quinn's role beside quinn-proto): the runtime crates (sio-tokio,
//! sio-smol, sio-async-std) implement [`Runtime`] and add their accept
//! loops; everything else they re-export from here. The protocol itself is
//! the sans-IO `sio-core`, which this crate drives.
//!
//! - [`SocketIo`], [`Namespace`], [`Socket`], [`BroadcastOperator`]: the
//!   user API, with the names Socket.IO users know.
//! - Handlers are async closures; typed arguments come through serde, with
//!   `bytes::Bytes` anywhere for binary.
//! - One task per connection moves bytes (`serve_connection`), one task
//!   per server drives the core's timers; a socket's handlers run as tasks
//!   only while they have work.
//! - A runtime gives only [`Runtime`]: spawn and sleep. Sockets arrive as
//!   futures-io streams; the client ([`ClientSocket`]) also needs a
//!   [`Connector`] to open them.
//! - A standalone server answers other paths than the endpoint's with
//!   404, or with a small synchronous [fallback](SocketIo::set_fallback)
//!   (a page, a token route); real routing belongs to an HTTP framework
//!   the server is mounted in (sio-tokio's tower layer).
//!
//! - [`engine_io`]: Engine.IO alone (Node's `engine.io`), on the same
//!   connection code and options.
//!
//! The core [`Server`](sio_core::server::Server) sits behind one lock that is
//! held only to feed one input and route its outputs.
//!
//! - A [`Bus`] attached with [`SocketIo::with_adapter`] joins the server to
//!   a cluster of sio and Node socket.io servers: it speaks the reference
//!   Redis adapter's protocol ([`sio_core::adapter`]); operations that ask the
//!   other nodes return [`ClusterError`] when the bus fails or a node does
//!   not answer in time.
//!
//! - [`admin`]: the official Socket.IO Admin UI's server side
//!   ([`SocketIo::instrument`]); [`meter`]: the names of the metrics
//!   recorded through the `metrics` facade (install any recorder).
//!
//! ## Module floors
//!
//! Imports between modules run one way, down: no module imports its own
//! importers. From the top: `admin` > `io` (and `engine_io`, `testing`) >
//! `namespace` > `operators`, `answer`, `streams`, `sharded` > `remote` > `cluster` > `socket` >
//! `shared` > the bottom floor (`conn`, `group`, `endpoint`, `host`, `outbox`, `jobs`, `bus`,
//! `meter`, `observe`, `wire`,
//! `handshake`, `admission`, `hooks`, `ack`, `accept`, `extensions`, `clock`, `payload`, `listener`,
//! `message`, `runtime`, `error`, `sync`). The client stands beside the
//! server floors, below `engine_io` (which re-exports its Engine.IO
//! client): `client` > `client::socket` > `client::manager`,
//! `client::engine` (the Socket.IO manager and the Engine.IO client,
//! siblings) > `client::conns` (their connections) > `client::pump`,
//! `client::tls`, `client::config`, `client::url` > the bottom floor. A method that reaches up is an inherent
//! `impl` on the higher floor (`Socket::to` in `operators`); a lower
//! module calls up through a trait it defines (`shared::Namespaces`,
//! `socket::ConnectionHandlers`). Each module's doc names its floor. Check
//! with `scripts/module-cycles` (run from anywhere; it reads `driver/src`,
//! lists with `-v` each module's imports outside test code, prints the
//! cycles and exits 1 when there is one).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accept;
mod ack;
pub mod admin;
mod admission;
mod answer;
mod bus;
mod client;
mod clock;
mod cluster;
mod conn;
mod endpoint;
pub mod engine_io;
mod error;
mod extensions;
mod group;
mod handshake;
mod hooks;
mod host;
mod io;
mod jobs;
mod listener;
mod message;
pub mod meter;
mod namespace;
mod observe;
mod operators;
mod outbox;
mod payload;
mod remote;
mod runtime;
mod serve;
mod sharded;
mod shared;
mod socket;
mod streams;
mod sync;
#[cfg(feature = "testing")]
pub mod testing;
mod wire;

pub use accept::accept_loop;
pub use ack::AckError;
pub use answer::ServerSideAck;
pub use bus::{
    Bus, BusError, BusEvent, BusSink, StreamBus, StreamEntry, DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_REQUESTS_TIMEOUT,
};
pub use client::UrlError;
pub use client::{
    auth_json, client_socket, engine_client, AuthProvider, ClientAckSender, ClientConfig,
    ClientEmitter, ClientManager, ClientSocket, ConnectErrorInfo, ManagerEvent,
};
#[cfg(feature = "tls")]
pub use client::{tls_config_with_roots, TlsConfigError};
pub use cluster::ClusterError;
pub use conn::{HttpExchange, ResponseWritten, WebSocketUpgrade};
pub use error::EmitError;
pub use extensions::Extensions;
/// rustls, for [`ClientConfig::with_tls`] (feature `tls`).
#[cfg(feature = "tls")]
pub use futures_rustls::rustls;
pub use handshake::Handshake;
pub use hooks::{
    ConnectionError, EngineHooks, Forbidden, InvalidHeader, RequestInfo, ResponseHeaders,
};
pub use io::{RandomSourceError, SocketIo};
pub use listener::ListenerId;
pub use namespace::{ConnectContext, ConnectError, Namespace};
pub use operators::BroadcastOperator;
pub use payload::Payload;
pub use remote::RemoteSocket;
pub use runtime::{BoxFuture, ClientStream, Connector, Runtime, Timer};
pub use serve::ServeConnection;
pub use socket::{AckSender, PacketError, Socket, SocketEmitter};

/// Binary data for typed arguments: a `Bytes` anywhere in a payload
/// travels as a binary attachment.
pub use bytes::Bytes;
/// Which rooms get a channel of their own on a sharded bus ([`Bus::sharded`]).
pub use sio_core::adapter::SubscriptionMode;
/// Why a client socket disconnected (socket.io-client's reason strings).
pub use sio_core::client::DisconnectReason as ClientDisconnectReason;
/// A client transport (`ClientConfig::engine.transports`).
pub use sio_core::client::Transport as ClientTransport;
/// The server's session cookie (`config.engine.cookie = Some(Cookie::default())`
/// is Node's `cookie: true`: `io`, `Path=/`, `HttpOnly`, `SameSite=Lax`),
/// for load balancers that route by it.
pub use sio_core::engine::Cookie;
/// A session's transport ([`Socket::transport`], [`Socket::on_upgrade`]).
pub use sio_core::engine::Transport;
/// The packet parser of a server (`Config::parser`) or a client
/// (`ClientConfig::engine.parser`): JSON (the default) or MessagePack
/// (npm `socket.io-msgpack-parser`).
pub use sio_core::packet::ParserKind;
pub use sio_core::server::{Config, DisconnectReason, RecoveryConfig};
/// Compression of polling responses (`Config::engine.http_compression`).
pub use sio_core::wire::http::HttpCompression;
/// permessage-deflate options (`Config::engine.per_message_deflate`, and
/// the client's `ClientConfig::engine.per_message_deflate`).
pub use sio_core::wire::ws::DeflateOptions;
