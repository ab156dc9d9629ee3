//! The client's options, and auth payloads as JSON.

#[cfg(feature = "tls")]
use std::sync::Arc;

use core::future::Future;
use serde::Serialize;

use sio_core::client::Config as CoreConfig;
use sio_core::packet::{ArgsError, RawJson};

use super::auth::{auth_json, AuthProvider};

/// Options of a client: the core client's (`engine`: reconnection,
/// transports, `extra_headers`, `with_credentials`, `remember_upgrade`,
/// ...), the first namespace's auth, and whether to share a manager.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Reconnection, timeouts and limits (socket.io-client's defaults).
    /// `host` is set from the URL.
    pub engine: CoreConfig,
    /// The auth payload of the URL's namespace (a JSON object).
    pub auth: Option<RawJson>,
    /// A function that gives the auth of the URL's namespace before each
    /// connection attempt (socket.io-client's `auth` as a function); it
    /// replaces `auth`. It must answer within `engine.timeout` (20 s).
    pub auth_fn: Option<AuthProvider>,
    /// A manager of its own, where by default a socket joins the live
    /// manager of the same server (scheme, host, port and Engine.IO path)
    /// unless that one already has the namespace, as `io()` does
    /// (socket.io-client's `forceNew`; false). A shared manager keeps the
    /// options it was made with.
    pub force_new: bool,
    /// The rustls config of `https`/`wss` connections; `None` trusts
    /// Mozilla's roots (webpki-roots). See [`tls_config_with_roots`](super::tls_config_with_roots).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<futures_rustls::rustls::ClientConfig>>,
}

impl ClientConfig {
    /// Sets the auth payload of the URL's namespace (it must serialize to
    /// a JSON object).
    pub fn with_auth<T: Serialize + ?Sized>(mut self, auth: &T) -> Result<Self, ArgsError> {
        self.auth = Some(auth_json(auth)?);
        Ok(self)
    }

    /// Gives the auth of the URL's namespace by calling `f` before every
    /// connection attempt (a token refreshed on reconnection); see
    /// [`AuthProvider::new`].
    pub fn with_auth_fn<F, Fut, T, E>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        self.auth_fn = Some(AuthProvider::new(f));
        self
    }

    /// Adds a header line to every Engine.IO request and the WebSocket
    /// handshake (socket.io-client's `extraHeaders`). Checked when the
    /// socket is made: a name that is not an HTTP token, a value with CR,
    /// LF or NUL, or a header the client writes itself is refused.
    pub fn with_extra_header(mut self, name: &str, value: &str) -> Self {
        self.engine
            .extra_headers
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Uses `tls` for `https`/`wss` connections (custom roots, client
    /// certificates, ...).
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: Arc<futures_rustls::rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}
