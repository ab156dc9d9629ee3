//! What every runtime's chat binary does the same way: the settings from
//! the environment, logging, and the Socket.IO server's configuration,
//! middleware and handlers.

use std::time::Duration;

use sio_core::engine::{AllowedOrigins, Cors};
use sio_driver::{Config, ParserKind, RecoveryConfig, SocketIo};
use tracing_subscriber::EnvFilter;

use crate::auth::{self, Keys};
use crate::events::{self, RateLimit};

const DEFAULT_PORT: u16 = 3000;
const DEFAULT_CORS_ORIGIN: &str = "http://localhost:3000";

/// The chat's settings: `PORT`, `CORS_ORIGIN`, `JWT_SECRET`,
/// `CHAT_PARSER`, and for tests `CHAT_RATE_LIMIT` and `CHAT_RATE_WINDOW_MS`.
pub struct Settings {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The origin browsers may call from.
    pub cors_origin: String,
    /// The keys of `JWT_SECRET`.
    pub keys: Keys,
    /// The `message` rate limit: the guide's 10 per 60 s, unless
    /// `CHAT_RATE_LIMIT` (events) or `CHAT_RATE_WINDOW_MS` say otherwise (the
    /// conformance suite shortens the window so as not to wait a minute).
    pub rate_limit: RateLimit,
    /// `CHAT_PARSER`: `json` (the default) or `msgpack` (npm
    /// socket.io-msgpack-parser; the page then loads the client bundle
    /// built with it).
    pub parser: ParserKind,
}

impl Settings {
    /// The settings from the environment, with the defaults for what is
    /// unset; an unparsable `PORT` is an error.
    pub fn from_env() -> std::io::Result<Settings> {
        let port = env_number("PORT")?.unwrap_or(DEFAULT_PORT);
        let default_limit = RateLimit::default();
        let rate_limit = RateLimit {
            max_events: env_number("CHAT_RATE_LIMIT")?.unwrap_or(default_limit.max_events),
            window: env_number("CHAT_RATE_WINDOW_MS")?
                .map(Duration::from_millis)
                .unwrap_or(default_limit.window),
        };
        Ok(Settings {
            port,
            cors_origin: env_or("CORS_ORIGIN", DEFAULT_CORS_ORIGIN),
            keys: Keys::from_env(),
            rate_limit,
            parser: parser_from_env()?,
        })
    }
}

/// `CHAT_PARSER`: `json`, `msgpack`, or unset (JSON).
fn parser_from_env() -> std::io::Result<ParserKind> {
    match std::env::var("CHAT_PARSER").as_deref() {
        Err(_) | Ok("" | "json") => Ok(ParserKind::Json),
        Ok("msgpack") => Ok(ParserKind::MsgPack),
        Ok(other) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("CHAT_PARSER={other}: expected json or msgpack"),
        )),
    }
}

/// The number in the variable `name`, if set; unparsable is an error.
fn env_number<T>(name: &str) -> std::io::Result<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(value) => value.parse::<T>().map(Some).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name}={value}: {e}"),
            )
        }),
        Err(_) => Ok(None),
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Logs to stderr, filtered by `RUST_LOG` (`info` when unset).
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// The server's configuration: Node's defaults, the settings' parser, CORS
/// for their origin
/// and, with the Admin UI on, for its page's origin with credentials (the
/// UI sends them), and connection state recovery: a client that drops for
/// a moment comes back with its socket id, rooms and the messages it missed.
pub fn config(settings: &Settings, admin_ui_origin: Option<&str>) -> Config {
    let mut config = Config::default();
    let mut origins = vec![settings.cors_origin.clone()];
    origins.extend(admin_ui_origin.map(str::to_owned));
    let mut cors = Cors::new(AllowedOrigins::List(origins));
    cors.credentials = admin_ui_origin.is_some();
    config.engine.cors = Some(cors);
    config.parser = settings.parser;
    let mut recovery = RecoveryConfig::default();
    // The handlers read the user the JWT middleware puts in the socket's
    // extensions, which a recovered socket does not bring back: the
    // middleware runs again (the client resends its token).
    recovery.skip_middlewares = false;
    config.connection_state_recovery = Some(recovery);
    config
}

/// Puts the chat on `io`: JWT auth at connect, then the chat events with
/// `rate_limit` on `message`.
pub fn install(io: &SocketIo, keys: Keys, rate_limit: RateLimit) {
    io.use_middleware(move |context| auth::authenticate(keys.clone(), context));
    let handle = io.clone();
    io.on_connection(move |socket| events::on_connection(handle.clone(), socket, rate_limit));
}
