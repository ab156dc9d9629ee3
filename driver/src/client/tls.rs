//! TLS for the client's `https://` and `wss://` URLs: rustls (ring) over
//! whatever stream the runtime's connector opens. Mozilla's roots
//! (webpki-roots) are trusted unless the config brings its own.

use std::sync::Arc;

use futures_rustls::rustls::{self, pki_types};

use crate::runtime::ClientStream;

/// Why a TLS client config could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfigError(pub String);

impl std::fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS client config: {}", self.0)
    }
}

impl std::error::Error for TlsConfigError {}

/// A rustls client config trusting Mozilla's roots plus `extra` (DER
/// certificates: a private CA, a self-signed server).
pub fn tls_config_with_roots(
    extra: impl IntoIterator<Item = pki_types::CertificateDer<'static>>,
) -> Result<Arc<rustls::ClientConfig>, TlsConfigError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra {
        roots
            .add(cert)
            .map_err(|e| TlsConfigError(format!("root certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// How the connections of one manager are secured.
#[derive(Clone)]
pub(crate) struct Tls {
    config: Arc<rustls::ClientConfig>,
    server_name: pki_types::ServerName<'static>,
}

impl Tls {
    /// TLS to `host` (SNI and the certificate's name; an IP address is
    /// checked against the certificate's IP names and sends no SNI).
    pub(crate) fn new(
        config: Option<Arc<rustls::ClientConfig>>,
        host: &str,
    ) -> Result<Self, &'static str> {
        let server_name = pki_types::ServerName::try_from(host.to_owned())
            .map_err(|_| "the host is not a valid TLS server name")?;
        let config = match config {
            Some(config) => config,
            None => tls_config_with_roots([]).map_err(|_| "no TLS client config")?,
        };
        Ok(Tls {
            config,
            server_name,
        })
    }

    /// Runs the TLS handshake over `stream`.
    pub(crate) async fn wrap<S: ClientStream>(
        &self,
        stream: S,
    ) -> std::io::Result<futures_rustls::client::TlsStream<S>> {
        futures_rustls::TlsConnector::from(self.config.clone())
            .connect(self.server_name.clone(), stream)
            .await
    }
}
