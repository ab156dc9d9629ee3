//! The HTTP side next to Socket.IO, the same on every runtime: the page,
//! the client bundle and test tokens, as sio-core's plain
//! [`Response`]s. The tokio example serves them through axum routes, the
//! smol and async-std examples through the standalone server's fallback.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use sio_core::wire::http::Response;
use sio_driver::ParserKind;

use crate::auth::{Keys, TokenRequestError};

/// The page at `/`.
const INDEX_HTML: &str = include_str!("static/index.html");

/// The browser client's bundle for `parser`: its file name in
/// socket.io-client's `dist/`, which is also its path on this server and
/// on the CDN. socket.io-client ships the MessagePack one built with npm
/// socket.io-msgpack-parser.
pub fn client_bundle_name(parser: ParserKind) -> &'static str {
    match parser {
        ParserKind::MsgPack => "socket.io.msgpack.min.js",
        _ => "socket.io.min.js",
    }
}

/// Where `scripts/fetch-client` installs the browser client: beside this
/// file (in `runtime-tokio/examples/chat/`), whatever the working
/// directory and whichever runtime crate's example is running.
pub fn client_bundle_path(parser: ParserKind) -> PathBuf {
    // Every runtime crate's folder sits in the workspace root.
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .parent()
        .unwrap_or(crate_dir)
        .join("runtime-tokio/examples/chat/node_modules/socket.io-client/dist")
        .join(client_bundle_name(parser))
}

/// Reads the browser client for `parser` from [`client_bundle_path`], if
/// it is there.
pub fn load_client_bundle(parser: ParserKind) -> Option<Arc<[u8]>> {
    let path = client_bundle_path(parser);
    match std::fs::read(&path) {
        Ok(bytes) => {
            tracing::info!(path = %path.display(), "serving the socket.io client at /{}", client_bundle_name(parser));
            Some(bytes.into())
        }
        Err(e) => {
            tracing::warn!(
                path = %path.display(), error = %e,
                "no local socket.io client (run scripts/fetch-client); the page loads it from the CDN"
            );
            None
        }
    }
}

/// What the routes share.
#[derive(Clone)]
pub struct Site {
    pub keys: Keys,
    /// The parser the server speaks, and so the page's client bundle.
    pub parser: ParserKind,
    /// The browser client, if it was installed when the server started.
    pub client_bundle: Option<Arc<[u8]>>,
}

impl Site {
    /// The routes' state: `keys` sign the test tokens; the client bundle
    /// for `parser` is read once, now.
    pub fn new(keys: Keys, parser: ParserKind) -> Site {
        Site {
            keys,
            parser,
            client_bundle: load_client_bundle(parser),
        }
    }

    /// `GET /`: the page, told which client bundle to load.
    pub fn index(&self) -> Response {
        let page = INDEX_HTML.replace(
            r#"<meta name="client-bundle" content="socket.io.min.js">"#,
            &format!(
                r#"<meta name="client-bundle" content="{}">"#,
                client_bundle_name(self.parser)
            ),
        );
        Response::new(200).with_body("text/html; charset=utf-8", page)
    }

    /// `GET /socket.io.min.js` or `GET /socket.io.msgpack.min.js` (`name`):
    /// the local browser client when it is the server's parser's, or 404
    /// (the page then falls back to the CDN).
    pub fn client_bundle(&self, name: &str) -> Response {
        let bundle = self
            .client_bundle
            .as_ref()
            .filter(|_| name == client_bundle_name(self.parser));
        match bundle {
            Some(bytes) => Response::new(200)
                .with_header("Cache-Control", "public, max-age=3600")
                .with_body("application/javascript; charset=utf-8", bytes.to_vec()),
            None => Response::new(404).with_body(
                "text/plain; charset=utf-8",
                "socket.io client not installed: run scripts/fetch-client\n",
            ),
        }
    }

    /// `GET /token?user=NAME`: `{"token": "..."}` for a test user, or 400
    /// `{"error": "..."}` for a missing or unusable name.
    pub fn token(&self, user: Option<&str>) -> Response {
        match self.keys.issue(user.unwrap_or_default()) {
            Ok(token) => json_response(200, &json!({ "token": token })),
            Err(TokenRequestError::BadName(reason)) => {
                json_response(400, &json!({ "error": reason }))
            }
            Err(TokenRequestError::Signing(reason)) => {
                tracing::error!(%reason, "could not sign a token");
                json_response(500, &json!({ "error": "could not sign" }))
            }
        }
    }
}

fn json_response(status: u16, body: &serde_json::Value) -> Response {
    Response::new(status).with_body("application/json", body.to_string())
}
