//! The chat server of the Socket.IO basics guide, on sio-tokio and axum.
//!
//! ```sh
//! scripts/fetch-client                          # once: the browser client, served locally
//! cargo run -p sio-tokio --example chat         # then open http://127.0.0.1:3000
//! ```
//!
//! Environment: `PORT` (3000), `JWT_SECRET` (a development default, with a
//! warning), `CORS_ORIGIN` (`http://localhost:3000`), `RUST_LOG` (`info`),
//! `CHAT_PARSER` (`json`; `msgpack` for npm socket.io-msgpack-parser, with
//! the page on socket.io-client's MessagePack bundle);
//! for tests, `CHAT_RATE_LIMIT` (10) and `CHAT_RATE_WINDOW_MS` (60000); the
//! Admin UI (`admin.rs`): `ADMIN_PASSWORD` or `ADMIN_PASSWORD_HASH` turns
//! it on, `ADMIN_USERNAME` (`admin`), `ADMIN_UI_ORIGIN`
//! (`https://admin.socket.io`).
//!
//! HTTP: `GET /metrics` the server's metrics in Prometheus' text format.
//!
//! HTTP: `GET /` the page, `GET /socket.io.min.js` (or, with msgpack,
//! `/socket.io.msgpack.min.js`) the browser client (when installed), `GET /token?user=NAME` a test token `{"token": "..."}` (an
//! HS256 JWT valid for an hour whose payload carries `userId`, the name in
//! lower case with dashes, and `name`), and Socket.IO at `/socket.io/`.
//!
//! Socket.IO speaks the Socket.IO basics guide's events exactly, so a
//! client written for the Node version of this app works unchanged
//! (payloads are JSON):
//!
//! | client emits | server does |
//! |---|---|
//! | connect with `auth.token` or query `token` (HS256 JWT) | refuses with `Authentication error: No token` without one, `Authentication error: Invalid token` when it does not verify (signature, expiry when it has one, `userId`); else joins room `user:<userId>` |
//! | `message`, any `data` | `response` `{message: "Message received", data}` to the sender |
//! | `broadcast`, any `data` | `message` with `data` unchanged to everyone but the sender |
//! | `announce`, any `data` | `announcement` with `data` unchanged to everyone |
//! | `chat`, `{message}` | `chat_response` `{status: "ok", echo: message}` to the sender, and the same object as the ack when asked |
//! | `join_room`, a room id string | joins it; `user_joined` `{socketId, roomId}` to the others in the room |
//! | `leave_room`, a room id string | leaves it; `user_left` `{socketId}` to the others in the room |
//! | `room_message`, `{roomId, message}` | `message` `{socketId, message}` to the room but the sender |
//! | `room_announce`, `{roomId, message}` | `announcement` `{socketId, message}` to the whole room |
//! | more than 10 `message` events within 60 s | `error` `{message: "Rate limit exceeded"}`, the event dropped |
//! | a handler fails (a payload of the wrong shape) | `error` `{message}` to the sender; the connection stays up |
//!
//! The rate limit is per socket and counts `message` events only, over a
//! sliding window: an event is let through when fewer than 10 were let
//! through in the 60 s before it; dropped events do not count.
//!
//! Beyond the guide: every connection of a user gets `welcome`
//! `{socketId, userId, name, connections}` when another one (or itself)
//! connects (delivered to `user:<userId>`); `join_room` and `leave_room`
//! acknowledge `{status: "ok", roomId}`, `room_message` and `room_announce`
//! `{status: "ok"}`, and a failed event `{status: "error", message}`, when
//! the client asked for an ack; a socket that disconnects sends
//! `user_left` `{socketId}` to the rooms it was in. Rooms joined with
//! `join_room` live under an internal prefix, so no client can join
//! another user's `user:<userId>`. The socket's `data` (what
//! `fetch_sockets` reports) is `{userId, name}`.
//!
//! `check.js` beside this file drives all of it with the Node client.
//!
//! The application is written once for every runtime: `auth.rs`,
//! `events.rs`, `web.rs` and `setup.rs` use sio-core's runtime-agnostic
//! API only, and the smol and async-std examples (`smol_chat`,
//! `async_std_chat`) include them from here. This file is the tokio
//! part: axum routes around `web.rs`, the tower layer, Ctrl-C.

mod admin;
mod auth;
mod events;
mod setup;
mod web;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use sio_core::wire::http;
use tower_http::cors::CorsLayer;

use crate::setup::Settings;
use crate::web::Site;

/// sio-core's response as axum's.
fn into_axum(response: http::Response) -> Response {
    let mut builder = axum::http::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name.as_ref(), value.as_str());
    }
    builder
        .body(Body::from(response.body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `GET /`
async fn index(State(site): State<Site>) -> Response {
    into_axum(site.index())
}

/// `GET /socket.io.min.js`
async fn client_bundle(State(site): State<Site>) -> Response {
    into_axum(site.client_bundle("socket.io.min.js"))
}

/// `GET /socket.io.msgpack.min.js`
async fn client_bundle_msgpack(State(site): State<Site>) -> Response {
    into_axum(site.client_bundle("socket.io.msgpack.min.js"))
}

#[derive(Deserialize)]
struct TokenQuery {
    user: Option<String>,
}

/// `GET /token?user=NAME`
async fn token(State(site): State<Site>, Query(query): Query<TokenQuery>) -> Response {
    into_axum(site.token(query.user.as_deref()))
}

/// The HTTP routes, with CORS for `cors_origin` (Socket.IO answers its own
/// CORS, so this layer sits inside the Socket.IO one).
async fn metrics(State(prometheus): State<PrometheusHandle>) -> Response {
    let mut response = prometheus.render().into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

fn routes(site: Site, cors_origin: &str, prometheus: PrometheusHandle) -> Router {
    let cors = match cors_origin.parse::<HeaderValue>() {
        Ok(origin) => CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([Method::GET]),
        Err(_) => {
            tracing::warn!(
                cors_origin,
                "CORS_ORIGIN is not a valid header value; no CORS for the HTTP routes"
            );
            CorsLayer::new()
        }
    };
    let metrics = Router::new()
        .route("/metrics", get(metrics))
        .with_state(prometheus);
    Router::new()
        .route("/", get(index))
        .route("/token", get(token))
        .route("/socket.io.min.js", get(client_bundle))
        .route("/socket.io.msgpack.min.js", get(client_bundle_msgpack))
        .layer(cors)
        .with_state(site)
        .merge(metrics)
}

async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(%e, "cannot listen for Ctrl-C; stop the server with a signal");
        std::future::pending::<()>().await;
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    setup::init_logging();
    let settings = Settings::from_env()?;

    let admin_ui = admin::AdminSettings::from_env()?;
    // Metrics through the `metrics` facade, rendered for Prometheus at /metrics.
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .map_err(std::io::Error::other)?;
    let admin_origin = admin_ui.as_ref().map(|a| a.ui_origin.as_str());
    let io = sio_tokio::new(setup::config(&settings, admin_origin));
    setup::install(&io, settings.keys.clone(), settings.rate_limit);
    if let Some(admin_ui) = &admin_ui {
        admin::instrument(&io, admin_ui)?;
        admin::announce(admin_ui, settings.port);
    }
    let site = Site::new(settings.keys, settings.parser);
    let app = routes(site, &settings.cors_origin, prometheus).layer(sio_tokio::layer(io.clone()));

    let port = settings.port;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("chat listening on http://127.0.0.1:{port}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            ctrl_c().await;
            tracing::info!("shutting down");
            io.shutdown().await;
        })
        .await
}
