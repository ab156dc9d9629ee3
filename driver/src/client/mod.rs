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
use conns::Dial;
#[cfg(feature = "tls")]
use tls::Tls;
use url::parse_url;

pub use config::{auth_json, ClientConfig};
pub use engine::{EngineClient, EngineClientEvent};
pub use manager::{ClientManager, ConnectErrorInfo, ManagerEvent};
pub use socket::{ClientAckSender, ClientEmitter, ClientSocket};
#[cfg(feature = "tls")]
pub use tls::{tls_config_with_roots, TlsConfigError};
pub use url::UrlError;

/// A socket on `url`'s namespace (not connected yet: register handlers,
/// then [`ClientSocket::connect`]), on `runtime`. The runtime crates wrap
/// this as `client::socket(url, config)`.
pub fn client_socket<R: Runtime + Connector>(
    runtime: R,
    url: &str,
    config: ClientConfig,
) -> Result<ClientSocket, UrlError> {
    let (target, engine, dial, auth) = resolve(url, config)?;
    let manager = ClientManager::start(runtime, engine, dial);
    Ok(manager.socket(&target.nsp, auth))
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
    Ok((target, engine, dial, config.auth))
}

type Resolved = (
    url::Target,
    sio_core::client::Config,
    Dial,
    Option<sio_core::packet::RawJson>,
);
