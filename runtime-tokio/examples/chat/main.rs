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

mod auth;
mod events;
mod web;

use axum::routing::get;
use axum::Router;
use sio_core::engine::{AllowedOrigins, Cors};
use sio_tokio::{Config, SocketIo};
use tower_http::cors::CorsLayer;
use tracing_subscriber::EnvFilter;

use crate::auth::Keys;
use crate::web::AppState;

const DEFAULT_PORT: u16 = 3000;
const DEFAULT_CORS_ORIGIN: &str = "http://localhost:3000";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// The Socket.IO server: CORS for `cors_origin`, JWT auth, the chat events.
fn socket_io(keys: Keys, cors_origin: &str) -> SocketIo {
    let mut config = Config::default();
    config.engine.cors = Some(Cors::new(AllowedOrigins::List(
        vec![cors_origin.to_owned()],
    )));
    let io = sio_tokio::new(config);
    io.use_middleware(move |context| auth::authenticate(keys.clone(), context));
    let handle = io.clone();
    io.on_connection(move |socket| {
        events::on_connection(handle.clone(), socket);
        async {}
    });
    io
}

/// The HTTP routes, with CORS for `cors_origin` (Socket.IO answers its own
/// CORS, so this layer sits inside the Socket.IO one).
fn routes(state: AppState, cors_origin: &str) -> Router {
    let cors = match cors_origin.parse::<axum::http::HeaderValue>() {
        Ok(origin) => CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([axum::http::Method::GET]),
        Err(_) => {
            tracing::warn!(
                cors_origin,
                "CORS_ORIGIN is not a valid header value; no CORS for the HTTP routes"
            );
            CorsLayer::new()
        }
    };
    Router::new()
        .route("/", get(web::index))
        .route("/token", get(web::token))
        .route("/socket.io.min.js", get(web::client_bundle))
        .layer(cors)
        .with_state(state)
}

async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(%e, "cannot listen for Ctrl-C; stop the server with a signal");
        std::future::pending::<()>().await;
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    init_logging();
    let port = match std::env::var("PORT") {
        Ok(port) => port.parse::<u16>().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("PORT={port}: {e}"),
            )
        })?,
        Err(_) => DEFAULT_PORT,
    };
    let cors_origin = env_or("CORS_ORIGIN", DEFAULT_CORS_ORIGIN);
    let keys = Keys::from_env();

    let io = socket_io(keys.clone(), &cors_origin);
    let state = AppState {
        keys,
        client_bundle: web::load_client_bundle(),
    };
    let app = routes(state, &cors_origin).layer(sio_tokio::layer(io.clone()));

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
