//! The Socket.IO client on any runtime: socket.io-client's `Manager` and
//! `Socket`, as async handles over the sans-IO [`Client`](sio_core::client::Client).
//!
//! ```no_run
//! # use sio_driver::{client_socket, ClientConfig, Connector, Runtime, UrlError};
//! # fn demo(runtime: impl Runtime + Connector) -> Result<(), UrlError> {
//! // On a runtime crate: sio_tokio::client::socket(url, config).
//! let socket = client_socket(runtime, "http://127.0.0.1:3000", ClientConfig::default())?;
//! socket.on_connect(|socket| async move { let _ = socket.emit("hello", &"world"); });
//! socket.on("news", |_socket, text: String, ack| async move { let _ = ack.send(&"thanks"); });
//! socket.connect();
//! let admin = socket.manager().socket("/admin", None); // same connection
//! admin.connect();
//! # Ok(())
//! # }
//! ```
//!
//! One [`ClientManager`] owns the core client behind a lock held only to
//! feed one input and route its outputs (as the server driver does), one
//! timer task drives its deadlines, and one task per TCP connection moves
//! bytes both ways. Handlers run like the server's: in arrival order, each
//! synchronously until its first await, the rest as its own task; never
//! under the lock.
//!
//! The sockets own their manager: keep a [`ClientSocket`] (or a clone) for
//! as long as the client should run. When the last handle of a manager's
//! sockets is dropped, its connection closes and its tasks end.
//!
//! Transports: HTTP long-polling with the upgrade to WebSocket (the
//! default), or either alone (`ClientConfig::engine.transports`). URLs are
//! `http`, `https`, `ws` or `wss` (`url`); TLS
//! (feature `tls`) wraps the connector's streams with rustls.

mod auth;
mod cache;
mod config;
mod conns;
mod engine;
mod listeners;
mod manager;
mod pump;
mod socket;
#[cfg(feature = "tls")]
mod tls;
mod url;

use crate::runtime::{Connector, Runtime};
use auth::SocketAuth;
use cache::{shared_manager, ServerKey};
use conns::Dial;
#[cfg(feature = "tls")]
use tls::Tls;
use url::parse_url;

pub use auth::{auth_json, AuthProvider};
pub use config::ClientConfig;
pub use engine::{EngineClient, EngineClientEvent};
pub use manager::{ClientManager, ConnectErrorInfo, ManagerEvent};
pub use socket::{ClientAckSender, ClientEmitter, ClientSocket};
#[cfg(feature = "tls")]
pub use tls::{tls_config_with_roots, TlsConfigError};
pub use url::UrlError;

/// A socket on `url`'s namespace (not connected yet: register handlers,
/// then [`ClientSocket::connect`]), on `runtime`. The runtime crates wrap
/// this as `client::socket(url, config)`.
///
/// As socket.io-client's `io()`: the socket joins the live manager of the
/// same server (scheme, host, port, Engine.IO path) unless
/// `config.force_new` or that manager already has the namespace; a
/// shared manager keeps the options it was made with.
pub fn client_socket<R: Runtime + Connector>(
    runtime: R,
    url: &str,
    config: ClientConfig,
) -> Result<ClientSocket, UrlError> {
    let force_new = config.force_new;
    let (target, engine, dial, auth) = resolve(url, config)?;
    let manager = match force_new {
        true => ClientManager::start(runtime, engine, dial),
        false => {
            let key = ServerKey {
                runtime: (std::any::TypeId::of::<R>(), runtime.instance()),
                secure: target.secure,
                host: target.host.clone(),
                port: target.port,
                path: engine.path.clone(),
            };
            shared_manager(key, &target.nsp, || {
                ClientManager::start(runtime, engine, dial)
            })
        }
    };
    Ok(manager.socket_with(&target.nsp, auth))
}

/// An Engine.IO client of `url` (not connected yet: register handlers,
/// then [`EngineClient::connect`]), on `runtime`. The URL's path, when it
/// has one, is the Engine.IO path (`http://host:3000/engine.io/`);
/// without one `config.engine.path` is used. `auth` is not used. The
/// runtime crates wrap this as `engine_io::client(url, config)`.
pub fn engine_client<R: Runtime + Connector>(
    runtime: R,
    url: &str,
    config: ClientConfig,
) -> Result<EngineClient, UrlError> {
    let (target, mut engine, dial, _auth) = resolve(url, config)?;
    if target.nsp != "/" {
        engine.path = target.nsp;
        if !engine.path.ends_with('/') {
            engine.path.push('/');
        }
    }
    Ok(EngineClient::start(runtime, engine, dial))
}

/// Where `url` points, the core config with its host and query, how to
/// dial it, and the auth payload.
fn resolve(url: &str, config: ClientConfig) -> Result<Resolved, UrlError> {
    let mut engine = config.engine;
    let target = parse_url(url)?;
    if let Err(reason) = check_extra_headers(&engine.extra_headers) {
        return Err(UrlError {
            url: url.to_owned(),
            reason,
        });
    }
    engine.host = target.host_header.clone();
    if !target.query.is_empty() {
        // As the JS client: the URL's query replaces the `query` option.
        engine.query = target.query.clone();
    }
    let dial = Dial {
        host: target.host.clone(),
        port: target.port,
        #[cfg(feature = "tls")]
        tls: None,
    };
    let dial = match target.secure {
        false => dial,
        #[cfg(feature = "tls")]
        true => Dial {
            tls: Some(Tls::new(config.tls, &dial.host).map_err(|reason| UrlError {
                url: url.to_owned(),
                reason,
            })?),
            ..dial
        },
        #[cfg(not(feature = "tls"))]
        true => {
            return Err(UrlError {
                url: url.to_owned(),
                reason: "https and wss need the `tls` feature",
            });
        }
    };
    let auth = match config.auth_fn {
        Some(provider) => SocketAuth::Provider(provider),
        None => config.auth.into(),
    };
    Ok((target, engine, dial, auth))
}

type Resolved = (url::Target, sio_core::client::Config, Dial, SocketAuth);

/// Header lines the client writes itself: an extra one would contradict
/// them or break the request's framing.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "accept-encoding",
];

/// Refuses extra headers that are not HTTP header lines, or that the
/// client writes itself.
fn check_extra_headers(headers: &[(String, String)]) -> Result<(), &'static str> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    for (name, value) in headers {
        if name.is_empty() || !name.bytes().all(token) {
            return Err("an extra header name is not an HTTP token");
        }
        if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err("an extra header value holds CR, LF or NUL");
        }
        if RESERVED_HEADERS
            .iter()
            .any(|r| name.eq_ignore_ascii_case(r))
        {
            return Err("an extra header is one the client writes itself (Host, Content-Length, Transfer-Encoding, Connection, Upgrade, Sec-WebSocket-*, Accept-Encoding)");
        }
    }
    Ok(())
}
