//! TLS to Redis (`rediss://`) with rustls on ring, trusting a private CA.

/// Makes ring rustls's process-wide provider unless one is set already,
/// so a build that also links another provider does not make rustls
/// refuse to pick one.
pub(crate) fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The redis crate's certificates: only `ca` (PEM) as roots, no client
/// certificate.
pub(crate) fn certificates(ca: Vec<u8>) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(ca),
    }
}
