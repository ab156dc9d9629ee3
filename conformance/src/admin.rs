//! The Admin UI scenarios (issue 20): a server instrumented for the
//! official `@socket.io/admin-ui`, behind basic auth, with CORS open to any
//! origin with credentials (the UI's page is served from another port).
//! Clients of `/` join the room named by their `room` query parameter, so
//! the UI has rooms to show; `/chat` exists so the namespace list has two.

use sio_core::engine::{AllowedOrigins, Cors};
use sio_driver::admin::{AdminAuth, AdminOptions};

use crate::{Config, SocketIo};

/// The admin user the client scripts log in as.
pub const USERNAME: &str = "admin";
/// Its password (the scripts know it; the server only has the hash).
pub const PASSWORD: &str = "sio-admin-test";
/// bcrypt of [`PASSWORD`] (cost 4: the suite logs in many times; a real
/// server uses 10 or more).
pub const PASSWORD_HASH: &str = "$2a$04$p3rlGIw.ZfcxYoyrGqXcFeXvTRe2/SzPGyan2f7htPCc4mANH0iBa";
/// The `serverId` the UI shows.
pub const SERVER_ID: &str = "sio-conformance";

/// CORS for the UI's origin, with credentials (the UI sends them).
pub fn config(config: &mut Config) {
    let mut cors = Cors::new(AllowedOrigins::Any);
    cors.credentials = true;
    config.engine.cors = Some(cors);
}

fn setup_with(io: &SocketIo, readonly: bool) {
    io.on_connection(|socket| async move {
        if let Some(room) = socket.handshake().query("room") {
            let _ = socket.join(&room);
        }
    });
    if let Ok(chat) = io.of("/chat") {
        chat.on_connection(|_socket| async move {});
    }
    let mut options = AdminOptions::new(AdminAuth::Basic {
        username: USERNAME.to_owned(),
        password_hash: PASSWORD_HASH.to_owned(),
    });
    options.readonly = readonly;
    options.server_id = Some(SERVER_ID.to_owned());
    if let Err(error) = io.instrument(options) {
        eprintln!("instrument failed: {error}");
        std::process::exit(1);
    }
}

/// `admin-protocol` (and the `admin-ui` browser rows).
pub fn setup(io: &SocketIo) {
    setup_with(io, false)
}

/// `admin-readonly`.
pub fn setup_readonly(io: &SocketIo) {
    setup_with(io, true)
}
