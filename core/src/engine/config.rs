//! Engine.IO server options, with the reference server's defaults.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use crate::wire::http::HttpCompression;
use crate::wire::ws::DeflateOptions;

/// Options of an [`EngineServer`](super::server::EngineServer). `Default` gives
/// the Node server's defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// Request path the server answers, with trailing slash (`/socket.io/`).
    pub path: String,
    /// Time between server pings (25 s).
    pub ping_interval: Duration,
    /// Time the client has to answer a ping (20 s).
    pub ping_timeout: Duration,
    /// Time a client has to finish an upgrade once it started it (10 s).
    pub upgrade_timeout: Duration,
    /// Most bytes in one polling body or WebSocket message (1e6); the
    /// handshake announces it as `maxPayload`.
    pub max_http_buffer_size: usize,
    /// Whether the polling transport is served.
    pub polling: bool,
    /// Whether the WebSocket transport is served.
    pub websocket: bool,
    /// Whether polling sessions may upgrade to WebSocket.
    pub allow_upgrades: bool,
    /// CORS for polling requests; `None` adds no CORS headers.
    pub cors: Option<Cors>,
    /// The `io` cookie set on the handshake response, if any.
    pub cookie: Option<Cookie>,
    /// Most packets queued for one session that its client has not taken
    /// yet (10,000): on WebSocket, transmitted and not yet reported written
    /// by the driver ([`EngineServer::handle_written`]); on polling, waiting
    /// for a GET. Past it the session is closed ("transport error") and
    /// what was queued for it is dropped at once, so a client that stops
    /// reading cannot make the server buffer without limit.
    ///
    /// [`EngineServer::handle_written`]: super::EngineServer::handle_written
    pub max_buffered_packets: usize,
    /// Most bytes queued for one session that its client has not taken yet
    /// (16 MiB), counted as [`Config::max_buffered_packets`] counts packets
    /// (a single larger message still goes out). It bounds what a client
    /// that stops reading pins; a client that keeps up never comes near it.
    pub max_buffered_bytes: usize,
    /// Once the server has decided to close a connection, it is gone this
    /// long after (30 s, the `ws` library's close timeout), whether or not
    /// the peer reads what was queued for it; a polling session the server
    /// closed waits at most this long for the GET that takes its last
    /// packets. A standalone server also gives each HTTP response (the
    /// `101` and open packet of a WebSocket included) this long to be
    /// written, then drops a client that does not read it.
    pub close_timeout: Duration,
    /// Most records in one polling POST body.
    pub max_payload_packets: usize,
    /// Time a client has to send a whole request head (60 s, Node's
    /// `headersTimeout`), counted from its first byte, or from the accept
    /// for a connection's first request (so a connection that sends
    /// nothing lasts this long too); past it: 408 and close. Applies to a
    /// standalone server (`serve`); mounted in another HTTP stack, that
    /// stack's own timeouts apply.
    pub headers_timeout: Duration,
    /// Time a client has to send a request's whole body once its head is
    /// in (30 s); past it: 408 and close. A held polling GET has no
    /// deadline: the server answers it within the ping interval.
    pub body_timeout: Duration,
    /// Time an idle keep-alive connection stays open, from the end of the
    /// last response to the first byte of the next request (5 s, Node's
    /// `keepAliveTimeout`); past it: closed without a response.
    pub keep_alive_timeout: Duration,
    /// Compression of polling responses (Node's `httpCompression`, on by
    /// default there and here): gzip or deflate, as the request's
    /// `Accept-Encoding` prefers, for bodies of at least the threshold
    /// (1,024 bytes); `None` turns it off.
    pub http_compression: Option<HttpCompression>,
    /// permessage-deflate on WebSocket (Node's `perMessageDeflate`, off by
    /// default there and here): `Some` accepts a client's offer with these
    /// options; `None` answers every offer with plain WebSocket.
    pub per_message_deflate: Option<DeflateOptions>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: String::from("/socket.io/"),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_http_buffer_size: 1_000_000,
            polling: true,
            websocket: true,
            allow_upgrades: true,
            cors: None,
            cookie: None,
            max_buffered_packets: 10_000,
            max_buffered_bytes: 16 * 1024 * 1024,
            close_timeout: Duration::from_millis(30_000),
            max_payload_packets: 10_000,
            headers_timeout: Duration::from_millis(60_000),
            body_timeout: Duration::from_millis(30_000),
            keep_alive_timeout: Duration::from_millis(5_000),
            http_compression: Some(HttpCompression::default()),
            per_message_deflate: None,
        }
    }
}

/// Which origins CORS allows.
#[derive(Clone)]
#[non_exhaustive]
pub enum AllowedOrigins {
    /// `*` (or the request's origin when credentials are allowed).
    Any,
    /// Exactly these origins (e.g. `http://localhost:3000`).
    List(Vec<String>),
    /// Origins for which the function answers true. It must be a pure check:
    /// it runs inside the state machine.
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

/// CORS options, as the `cors` package the Node server uses takes them.
#[derive(Clone)]
pub struct Cors {
    /// Allowed origins.
    pub origins: AllowedOrigins,
    /// Send `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// Methods listed in preflight answers (`GET,HEAD,PUT,PATCH,POST,DELETE` by default).
    pub methods: Vec<String>,
    /// Headers allowed in preflight answers; empty mirrors the request's
    /// `Access-Control-Request-Headers`.
    pub allowed_headers: Vec<String>,
    /// `Access-Control-Max-Age` in seconds, if any.
    pub max_age: Option<u32>,
}

impl Cors {
    /// CORS for `origins` with the `cors` package's defaults otherwise.
    pub fn new(origins: AllowedOrigins) -> Self {
        Cors {
            origins,
            credentials: false,
            methods: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]
                .iter()
                .map(|m| String::from(*m))
                .collect(),
            allowed_headers: Vec::new(),
            max_age: None,
        }
    }
}

/// The `io` cookie holding the session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Cookie name (`io`).
    pub name: String,
    /// `Path` attribute (`/`).
    pub path: String,
    /// `HttpOnly` attribute (true).
    pub http_only: bool,
    /// `SameSite` attribute (`Lax`).
    pub same_site: String,
}

impl Default for Cookie {
    fn default() -> Self {
        Cookie {
            name: String::from("io"),
            path: String::from("/"),
            http_only: true,
            same_site: String::from("Lax"),
        }
    }
}
