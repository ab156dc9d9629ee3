//! The server side of the official Socket.IO Admin UI (npm
//! `@socket.io/admin-ui`, whose `instrument(io, options)` this mirrors): an
//! admin namespace behind basic auth (a bcrypt-hashed password), a
//! `config` message naming what the UI may do, `server_stats` every two
//! seconds, the sockets and their rooms as they come and go, every event in
//! and out in development mode, and the commands (`emit`, `join`, `leave`,
//! `_disconnect`) unless read-only. Names and payloads are the reference's,
//! so the published UI works unchanged. In a cluster every node emits its
//! own stats on the shared admin namespace, and `all_sockets` is fetched
//! from every node, as Node's does.
//!
//! Floor: the top one, beside `io`: it uses the public API and the
//! observer channel (`observe`) the routing floors feed.

mod auth;
mod commands;
mod serialize;
mod stats;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use crate::io::SocketIo;
use crate::namespace::ConnectError;
use crate::observe::Observer;
use auth::{Credentials, Sessions};

/// How often `server_stats` goes out (the reference's period).
pub const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// Who may open the admin namespace.
#[derive(Clone)]
pub enum AdminAuth {
    /// Anyone (the reference's `auth: false`): only behind a firewall.
    None,
    /// The reference's `{ type: "basic", username, password }`: `password`
    /// is a bcrypt hash (`$2b$10$...`), never the password itself.
    Basic {
        /// The user name the UI must send.
        username: String,
        /// The bcrypt hash of the password.
        password_hash: String,
    },
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminAuth::None => f.write_str("None"),
            AdminAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// Whether events in and out are reported one by one (the reference's
/// `mode`, from `NODE_ENV`, "development" by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminMode {
    /// Every socket event, in and out, and `all_sockets` at login.
    Development,
    /// Stats only (aggregated counts, namespaces), for busy servers.
    Production,
}

/// The options of [`SocketIo::instrument`], with the reference's defaults.
#[derive(Debug, Clone)]
pub struct AdminOptions {
    /// Required, as in the reference: basic auth, or explicitly none.
    pub auth: AdminAuth,
    /// Refuse the commands (the UI hides its buttons). Default `false`.
    pub readonly: bool,
    /// The admin namespace. Default `/admin`.
    pub namespace_name: String,
    /// This server's name in the UI. Default: the host name.
    pub server_id: Option<String>,
    /// Default [`AdminMode::Development`].
    pub mode: AdminMode,
}

impl AdminOptions {
    /// The reference's defaults with `auth`.
    pub fn new(auth: AdminAuth) -> Self {
        AdminOptions {
            auth,
            readonly: false,
            namespace_name: "/admin".to_owned(),
            server_id: None,
            mode: AdminMode::Development,
        }
    }
}

/// Why [`SocketIo::instrument`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// `password_hash` is not a bcrypt hash (the reference refuses too).
    InvalidPasswordHash,
    /// The admin namespace's name is not one (it must start with `/`).
    InvalidNamespace,
    /// This server is already instrumented.
    AlreadyInstrumented,
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AdminError::InvalidPasswordHash => "the `password` field must be a valid bcrypt hash",
            AdminError::InvalidNamespace => "the admin namespace name must start with `/`",
            AdminError::AlreadyInstrumented => "this server is already instrumented",
        })
    }
}

impl std::error::Error for AdminError {}

/// The Admin UI's features, as the reference names them in `config`.
fn supported_features(options: &AdminOptions) -> Vec<&'static str> {
    let mut features = if options.readonly {
        Vec::new()
    } else {
        vec![
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]
    };
    features.push("AGGREGATED_EVENTS");
    if options.mode == AdminMode::Development {
        features.push("ALL_EVENTS");
    }
    features
}

impl SocketIo {
    /// Serves the official Admin UI's protocol on `options.namespace_name`
    /// (npm `@socket.io/admin-ui`'s `instrument(io, options)`). Open
    /// <https://admin.socket.io> (or the UI's static build, served
    /// anywhere), give it this server's URL and the credentials; the
    /// server's CORS options must let the UI's origin in, with credentials.
    pub fn instrument(&self, options: AdminOptions) -> Result<(), AdminError> {
        if !options.namespace_name.starts_with('/') {
            return Err(AdminError::InvalidNamespace);
        }
        let credentials = Credentials::new(&options.auth)?;
        let development = options.mode == AdminMode::Development;
        let (observer, observed) = Observer::new(development);
        if self.shared.observer.set(observer).is_err() {
            return Err(AdminError::AlreadyInstrumented);
        }
        self.shared
            .process_all(|server, _| server.set_observer_events(true));
        let admin = self
            .of(&options.namespace_name)
            .map_err(|_| AdminError::InvalidNamespace)?;
        let sessions = Arc::new(Sessions::default());
        if let Some(credentials) = credentials {
            let (credentials, sessions) = (Arc::new(credentials), sessions.clone());
            admin.use_middleware(move |context| {
                let (credentials, sessions) = (credentials.clone(), sessions.clone());
                async move {
                    match auth::admit(&credentials, &sessions, context.handshake()).await {
                        Ok(Some(login)) => {
                            context.extensions().insert(login);
                            Ok(())
                        }
                        Ok(None) => Ok(()),
                        Err(()) => Err(ConnectError::new("invalid credentials")),
                    }
                }
            });
        }
        let features = supported_features(&options);
        let io = self.clone();
        admin.on_connection(move |socket| {
            let (io, features, sessions) = (io.clone(), features.clone(), sessions.clone());
            async move {
                if socket.extensions().contains::<auth::NewLogin>() {
                    // Logged in with credentials: the UI keeps this id to
                    // reconnect without them (the reference sends it from
                    // its middleware).
                    let _ = socket.emit("session", &sessions.open());
                }
                if features.contains(&"EMIT") {
                    commands::register(&io, &socket);
                }
                let _ = socket.emit(
                    "config",
                    &serde_json::json!({ "supportedFeatures": features }),
                );
                if development {
                    let sockets = serialize::all_sockets(&io).await;
                    let _ = socket.emit("all_sockets", &sockets);
                }
            }
        });
        let weak = Arc::downgrade(&self.shared);
        let name: Arc<str> = Arc::from(options.namespace_name.as_str());
        self.shared
            .spawn(watch::run(weak.clone(), name.clone(), observed));
        let server_id = options.server_id.clone();
        self.shared.spawn(stats::run(weak, name, server_id));
        Ok(())
    }
}
