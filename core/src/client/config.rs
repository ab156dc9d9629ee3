//! The client's options, with socket.io-client's defaults.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::Transport;
use crate::wire::http;
use core::time::Duration;

use crate::packet;
use crate::wire::ws as websocket;

/// Options of a [`Client`](super::Client). `Default` gives socket.io-client's defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The transports to use: the first opens the connection, a later
    /// WebSocket is the upgrade (`["polling", "websocket"]`, as the
    /// reference). Empty means the default.
    pub transports: Vec<Transport>,
    /// Whether to upgrade from polling to a WebSocket when the server
    /// offers it (true).
    pub upgrade: bool,
    /// The `Host` header of the requests (`host:port`).
    pub host: String,
    /// The Engine.IO path, with its trailing slash (`/socket.io/`).
    pub path: String,
    /// Extra query pairs, already percent-encoded, without a leading `&`
    /// (`token=abc&x=1`); empty for none.
    pub query: String,
    /// Whether to reconnect after a lost connection (true).
    pub reconnection: bool,
    /// Attempts before giving up; `None` for no limit (the default).
    pub reconnection_attempts: Option<u32>,
    /// The first delay before reconnecting (1000 ms).
    pub reconnection_delay: Duration,
    /// The longest delay between attempts (5000 ms).
    pub reconnection_delay_max: Duration,
    /// How far each delay may move, as a fraction of it (0.5); outside
    /// (0, 1] means no jitter, as in the reference.
    pub randomization_factor: f64,
    /// How long a connection attempt may take to reach the open packet
    /// (20000 ms).
    pub timeout: Duration,
    /// socket.io-client's `retries`: with more than 0, every emit that is
    /// not volatile is queued and delivered in order, each retried until
    /// the server acknowledges it, at most this many times more (0).
    pub retries: u32,
    /// socket.io-client's `ackTimeout`: the ack deadline of emits that ask
    /// for an ack without their own (and of each queued attempt); `None`
    /// (the default) for none.
    pub ack_timeout: Option<Duration>,
    /// Most emits buffered per namespace while it is not connected (and
    /// most emits in its `retries` queue).
    pub max_buffered_emits: usize,
    /// Most acks one namespace may wait for at once.
    pub max_pending_acks: usize,
    /// Most bytes of the server's `101` head.
    pub max_response_head_bytes: usize,
    /// Bounds on the server's HTTP responses (long-polling).
    pub http_limits: http::Limits,
    /// Most packets in one long-polling payload from the server.
    pub max_payload_packets: usize,
    /// Bounds on WebSocket messages from the server.
    pub ws_limits: websocket::Limits,
    /// Bounds on binary attachments of incoming packets (with MessagePack,
    /// on the buffers inside one packet).
    pub packet_limits: packet::Limits,
    /// permessage-deflate offered on every WebSocket (socket.io-client's
    /// `perMessageDeflate`, on in Node with a threshold of 1,024 bytes,
    /// as here); `None` offers nothing.
    pub per_message_deflate: Option<websocket::DeflateOptions>,
    /// Ask for compressed polling responses (`Accept-Encoding: gzip,
    /// deflate`, as browsers and Node's fetch send) and decode them, within
    /// [`Config::http_limits`]'s body bound (true).
    pub accept_compressed_polling: bool,
    /// The packet parser, which the server must speak too: JSON (the
    /// default, as socket.io-client's) or MessagePack (npm
    /// `socket.io-msgpack-parser`, socket.io-client's `parser` option).
    pub parser: packet::ParserKind,
    /// Header lines added to every Engine.IO request: polling GETs and
    /// POSTs and the WebSocket handshake (socket.io-client's
    /// `extraHeaders`; none by default). CR, LF and NUL are written as
    /// spaces: the driver refuses them when it is built.
    pub extra_headers: Vec<(String, String)>,
    /// Keep the cookies the server sets (`Set-Cookie` on any response,
    /// the handshake's included) and send them back on later requests and
    /// the WebSocket handshake (socket.io-client's `withCredentials`, with
    /// engine.io-client's cookie jar in Node; false). Bounded: 50 cookies,
    /// 4 KiB each, 16 KiB in all.
    pub with_credentials: bool,
    /// After a WebSocket once carried a connection (opened on one or
    /// upgraded to one), open the next connection of this client directly
    /// on a WebSocket (engine.io-client's `rememberUpgrade`; false).
    pub remember_upgrade: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            transports: vec![Transport::Polling, Transport::WebSocket],
            upgrade: true,
            host: String::from("localhost"),
            path: String::from("/socket.io/"),
            query: String::new(),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            timeout: Duration::from_millis(20_000),
            retries: 0,
            ack_timeout: None,
            max_buffered_emits: 1_000,
            max_pending_acks: 1_000,
            max_response_head_bytes: 16 * 1024,
            http_limits: http::Limits {
                max_headers: 64,
                max_head_bytes: 16 * 1024,
                max_body_bytes: 10_000_000,
            },
            max_payload_packets: 10_000,
            ws_limits: websocket::Limits {
                max_message_bytes: 10_000_000,
            },
            packet_limits: packet::Limits::default(),
            per_message_deflate: Some(websocket::DeflateOptions::default()),
            accept_compressed_polling: true,
            parser: packet::ParserKind::Json,
            extra_headers: Vec::new(),
            with_credentials: false,
            remember_upgrade: false,
        }
    }
}
