//! What a socket's connection started with, owned, for middleware and
//! handlers: Node's `socket.handshake`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;

use crate::clock::Clock;
use sio_core::engine::{HandshakeInfo, Transport};
use sio_core::packet::RawJson;
use sio_core::wire::http::Header;

/// The handshake of a socket.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The Engine.IO handshake (url, headers, address, transport), shared
    /// with the core's session: every socket of a session points at the one
    /// record instead of copying it.
    info: Arc<HandshakeInfo>,
    /// [`Handshake::headers`] unpacked, made on its first call.
    unpacked: std::sync::OnceLock<Box<[Header]>>,
    issued: SystemTime,
    auth: Option<RawJson>,
}

impl Handshake {
    pub(crate) fn new(info: &Arc<HandshakeInfo>, auth: Option<RawJson>, clock: &Clock) -> Self {
        // The session's age tells when it was opened in wall-clock time.
        let age = clock.now().saturating_duration_since(info.issued);
        Handshake {
            info: info.clone(),
            unpacked: std::sync::OnceLock::new(),
            issued: {
                let wall = clock.wall_clock();
                wall.checked_sub(age).unwrap_or(wall)
            },
            auth,
        }
    }

    /// The request target of the Engine.IO handshake (path and query).
    pub fn url(&self) -> &str {
        &self.info.url
    }

    /// Query parameter `name` of the handshake request, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.info.url.split_once('?')?.1;
        sio_core::wire::http::query_param(query, name).map(|v| v.into_owned())
    }

    /// Header `name` of the handshake request (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.info.headers.get(name)
    }

    /// Every header of the handshake request, names lower-cased.
    pub fn headers(&self) -> &[Header] {
        self.unpacked
            .get_or_init(|| self.info.headers.to_headers().into_boxed_slice())
    }

    /// The client's address, when the transport knows it.
    pub fn address(&self) -> Option<SocketAddr> {
        self.info.peer
    }

    /// When the Engine.IO session opened.
    pub fn issued(&self) -> SystemTime {
        self.issued
    }

    /// Milliseconds since the Unix epoch at [`Handshake::issued`] (Node's `handshake.issued`).
    pub fn issued_millis(&self) -> u128 {
        self.issued
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis()
    }

    /// The transport the session opened with.
    pub fn transport(&self) -> Transport {
        self.info.transport
    }

    /// The raw CONNECT payload (`handshake.auth` on the client), if any.
    pub fn auth_raw(&self) -> Option<&RawJson> {
        self.auth.as_ref()
    }

    /// The CONNECT payload decoded as `T`; `None` when absent or of another shape.
    pub fn auth<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(self.auth.as_ref()?.as_str()).ok()
    }
}
