//! The client's options, and auth payloads as JSON.

#[cfg(feature = "tls")]
use std::sync::Arc;

use bytestring::ByteString;
use serde::Serialize;

use sio_core::client::Config as CoreConfig;
use sio_core::packet::{ArgsError, RawJson};

/// Options of a client: the core client's, plus the first namespace's auth.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Reconnection, timeouts and limits (socket.io-client's defaults).
    /// `host` is set from the URL.
    pub engine: CoreConfig,
    /// The auth payload of the URL's namespace (a JSON object).
    pub auth: Option<RawJson>,
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

    /// Uses `tls` for `https`/`wss` connections (custom roots, client
    /// certificates, ...).
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: Arc<futures_rustls::rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// `auth` as JSON text.
pub fn auth_json<T: Serialize + ?Sized>(auth: &T) -> Result<RawJson, ArgsError> {
    let text = serde_json::to_string(auth).map_err(|e| ArgsError::Serialize(e.to_string()))?;
    RawJson::parse(ByteString::from(text)).map_err(|e| ArgsError::Serialize(format!("{e:?}")))
}
