//! client-tls: the Node server over https, with a certificate made for
//! this run (rcgen; nothing is kept on disk after it). Our client trusts it
//! through `ClientConfig::with_tls`, connects with `https://` (and a query
//! string) by polling and upgrades to wss, connects with `wss://` to an IP
//! address, and, without the certificate in its roots, fails with a
//! `connect_error` naming it.

use super::*;
use sio_driver::{rustls::pki_types::CertificateDer, tls_config_with_roots};

/// A self-signed certificate for `localhost` and `127.0.0.1`, in a
/// temporary folder removed on drop.
struct CertFiles {
    folder: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

impl CertFiles {
    fn make(port: u16) -> Result<Self, String> {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let made = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
        let folder = std::env::temp_dir().join(format!("sio-tls-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        let files = CertFiles {
            cert: folder.join("cert.pem"),
            key: folder.join("key.pem"),
            folder,
            der: made.cert.der().clone(),
        };
        std::fs::write(&files.cert, made.cert.pem()).map_err(|e| e.to_string())?;
        std::fs::write(&files.key, made.key_pair.serialize_pem()).map_err(|e| e.to_string())?;
        Ok(files)
    }
}

impl Drop for CertFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

pub(super) async fn tls(ctx: &Ctx) -> Outcome {
    let port = free_port()?;
    let files = CertFiles::make(port)?;
    let mut server = NodeServer {
        dir: lock(&ctx.server).dir.clone(),
        port,
        tls: Some((files.cert.clone(), files.key.clone())),
        msgpack: false,
        child: None,
        script: "node-server/server.js",
    };
    server.start()?;
    let trusted = tls_config_with_roots([files.der.clone()]).map_err(|e| e.to_string())?;

    // https: polling, then the upgrade to wss; the URL's query reaches
    // the server's handshake.
    let url = format!("https://localhost:{port}/?token=a%20b");
    let socket = (ctx.socket)(&url, quick_reconnect().with_tls(trusted.clone()))
        .map_err(|e| e.to_string())?;
    let upgraded = collect_upgrade(&socket);
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "https connect").await?;
    recv(&upgraded, "upgrade to wss").await?;
    round_trips(&socket).await?;
    let token: Option<String> = socket
        .timeout(WAIT)
        .emit_with_ack("get-query", &())
        .await
        .map_err(|e| format!("get-query: {e}"))?;
    check("query token", token.as_deref(), Some("a b"))?;
    let info = transport_info(&socket).await?;
    socket.disconnect();
    check(
        "https server transport",
        info,
        json!({"initial": "polling", "current": "websocket", "upgraded": "websocket"}),
    )?;

    // wss alone, to an IP address (checked against the certificate's IP name).
    let url = format!("wss://127.0.0.1:{port}/");
    let config = with_transports(&[ClientTransport::WebSocket]).with_tls(trusted);
    let socket = (ctx.socket)(&url, config).map_err(|e| e.to_string())?;
    let connected = collect_connect(&socket);
    socket.connect();
    recv(&connected, "wss connect").await?;
    round_trips(&socket).await?;
    let info = transport_info(&socket).await?;
    socket.disconnect();
    check(
        "wss server transport",
        info,
        json!({"initial": "websocket", "current": "websocket", "upgraded": null}),
    )?;

    // Mozilla's roots only: the self-signed certificate is refused.
    let mut config = quick_reconnect();
    config.engine.reconnection = false;
    let url = format!("https://localhost:{port}/");
    let socket = (ctx.socket)(&url, config).map_err(|e| e.to_string())?;
    let errors = collect_connect_errors(&socket);
    socket.connect();
    let err = recv(&errors, "connect_error for an untrusted certificate").await?;
    check("message", err.message.as_str(), "xhr poll error")?;
    let description = err
        .data::<Value>()
        .and_then(|data| data.get("description")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    check(
        "description",
        description.as_str(),
        "invalid peer certificate: UnknownIssuer",
    )?;
    check("connected", socket.connected(), false)?;
    socket.manager().close();
    server.stop();
    Ok(())
}
