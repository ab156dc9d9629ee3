//! The chat server of the Socket.IO basics guide, on sio-tokio and axum.
//!
//! ```sh
//! scripts/fetch-client                          # once: the browser client, served locally
//! cargo run -p sio-tokio --example chat         # then open http://127.0.0.1:3000
//! ```
//!
//! Environment: `PORT` (3000), `JWT_SECRET` (a development default, with a
//! warning), `CORS_ORIGIN` (`http://localhost:3000`), `RUST_LOG` (`info`).
//!
//! HTTP: `GET /` the page, `GET /socket.io.min.js` the browser client (when
//! installed), `GET /token?user=NAME` a test token `{"token": "..."}` (an
//! HS256 JWT valid for an hour), and Socket.IO at `/socket.io/`.
//!
//! Socket.IO: connecting needs a token, as `auth: { token }` or the `token`
//! query parameter; without a valid one the client's `connect_error` says
//! `Authentication error: <reason>`. Each connection joins `user:{id}`; all
//! connections of the user get `welcome` `{socketId, userId, name,
//! connections}`. Events from the client (at most 10 per rolling minute per
//! socket, else `error` `{message: "Rate limit exceeded"}`; any failure is
//! an `error` `{message}` event too):
//!
//! | event | payload | effect |
//! |---|---|---|
//! | `message` | any | `response` `{echo, from}` to the sender |
//! | `broadcast` | any | `broadcast` `{userId, name, message}` to everyone else |
//! | `announce` | any | `announcement` `{userId, name, message}` to everyone |
//! | `chat` | `{message}` | ack `{status: "ok", echo: message}` |
//! | `join_room` | `{roomId}` | joins; `user_joined` `{userId, name, roomId}` to the room; ack `{status, roomId}` |
//! | `leave_room` | `{roomId}` | leaves; `user_left` `{userId, name, roomId}` to the room; ack `{status, roomId}` |
//! | `room_message` | `{roomId, message}` | `message` `{socketId, userId, name, message, roomId}` to the room but the sender; ack `{status}` |
//! | `room_announce` | `{roomId, message}` | `room_announcement` (same fields) to the whole room; ack `{status}` |
//!
//! A socket that disconnects is logged with its reason, and the rooms it
//! was in get `user_left`.
//!
//! `check.js` beside this file drives all of it with the Node client.
//!
//! The application is written once for every runtime: `auth.rs`,
//! `events.rs`, `web.rs` and `setup.rs` use sio-core's runtime-agnostic
//! API only, and the smol and async-std examples (`smol_chat`,
//! `async_std_chat`) include them from here. This file is the tokio
//! part: axum routes around `web.rs`, the tower layer, Ctrl-C.

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
    into_axum(site.client_bundle())
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
fn routes(site: Site, cors_origin: &str) -> Router {
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
    Router::new()
        .route("/", get(index))
        .route("/token", get(token))
        .route("/socket.io.min.js", get(client_bundle))
        .layer(cors)
        .with_state(site)
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

    let io = sio_tokio::new(setup::config(&settings.cors_origin));
    setup::install(&io, settings.keys.clone());
    let site = Site::new(settings.keys);
    let app = routes(site, &settings.cors_origin).layer(sio_tokio::layer(io.clone()));

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
