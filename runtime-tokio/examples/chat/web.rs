//! The HTTP side next to Socket.IO: the page, the client bundle, test tokens.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Keys, TokenRequestError};

/// The page at `/`.
const INDEX_HTML: &str = include_str!("static/index.html");

/// Where `scripts/fetch-client` installs the browser client: under this
/// example's folder, whatever the working directory.
pub fn client_bundle_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/chat/node_modules/socket.io-client/dist/socket.io.min.js")
}

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    pub keys: Keys,
    /// The browser client, if it was installed when the server started.
    pub client_bundle: Option<Arc<[u8]>>,
}

/// Reads the browser client from [`client_bundle_path`], if it is there.
pub fn load_client_bundle() -> Option<Arc<[u8]>> {
    let path = client_bundle_path();
    match std::fs::read(&path) {
        Ok(bytes) => {
            tracing::info!(path = %path.display(), "serving the socket.io client at /socket.io.min.js");
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

/// `GET /`
pub async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

/// `GET /socket.io.min.js`: the local browser client, or 404 (the page
/// then falls back to the CDN).
pub async fn client_bundle(State(state): State<AppState>) -> Response {
    match state.client_bundle {
        Some(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/javascript; charset=utf-8",
                ),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            bytes.to_vec(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "socket.io client not installed: run scripts/fetch-client\n",
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    user: Option<String>,
}

/// `GET /token?user=NAME`: `{"token": "..."}` for a test user.
pub async fn token(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Response {
    let name = query.user.unwrap_or_default();
    match state.keys.issue(&name) {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        Err(TokenRequestError::BadName(reason)) => {
            (StatusCode::BAD_REQUEST, Json(json!({ "error": reason }))).into_response()
        }
        Err(TokenRequestError::Signing(reason)) => {
            tracing::error!(%reason, "could not sign a token");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "could not sign" })),
            )
                .into_response()
        }
    }
}
