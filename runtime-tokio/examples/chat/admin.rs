//! The chat's Admin UI: the official Socket.IO Admin UI's server side on
//! `/admin`, on when `ADMIN_PASSWORD` or `ADMIN_PASSWORD_HASH` is set
//! (every runtime's chat includes this file; the tokio one also serves
//! metrics, see `main.rs`).
//!
//! - `ADMIN_USERNAME`: the UI's user (`admin`).
//! - `ADMIN_PASSWORD_HASH`: a bcrypt hash, as the reference takes it; or
//!   `ADMIN_PASSWORD`, hashed here at start (cost 10).
//! - `ADMIN_UI_ORIGIN`: where the UI's page comes from
//!   (`https://admin.socket.io`), let in by CORS with credentials.

use sio_driver::admin::{AdminAuth, AdminOptions};

/// The default origin of the hosted Admin UI.
pub const DEFAULT_ADMIN_UI_ORIGIN: &str = "https://admin.socket.io";

/// The Admin UI's settings, when it is on.
pub struct AdminSettings {
    pub username: String,
    pub password_hash: String,
    pub ui_origin: String,
}

impl AdminSettings {
    /// From the environment; `None` when no password is set.
    pub fn from_env() -> std::io::Result<Option<AdminSettings>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let password_hash = match (var("ADMIN_PASSWORD_HASH"), var("ADMIN_PASSWORD")) {
            (Some(hash), _) => hash,
            (None, Some(password)) => bcrypt::hash(password, bcrypt::DEFAULT_COST)
                .map_err(|e| std::io::Error::other(format!("ADMIN_PASSWORD: {e}")))?,
            (None, None) => return Ok(None),
        };
        Ok(Some(AdminSettings {
            username: var("ADMIN_USERNAME").unwrap_or_else(|| "admin".to_owned()),
            password_hash,
            ui_origin: var("ADMIN_UI_ORIGIN").unwrap_or_else(|| DEFAULT_ADMIN_UI_ORIGIN.to_owned()),
        }))
    }
}

/// Serves the Admin UI's protocol on `/admin`.
pub fn instrument(io: &sio_driver::SocketIo, settings: &AdminSettings) -> std::io::Result<()> {
    let options = AdminOptions::new(AdminAuth::Basic {
        username: settings.username.clone(),
        password_hash: settings.password_hash.clone(),
    });
    io.instrument(options)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
}

/// Says where to log in.
pub fn announce(settings: &AdminSettings, port: u16) {
    println!(
        "Admin UI: open {} and connect to http://127.0.0.1:{port} as {:?}",
        settings.ui_origin, settings.username
    );
}
