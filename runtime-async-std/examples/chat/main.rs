//! The chat example of `runtime-tokio/examples/chat` on sio-async-std: the
//! same application (`auth.rs`, `events.rs`, `web.rs`, `setup.rs` are
//! included from there, the HTTP routes from the smol example's
//! `routes.rs`), served by sio-async-std's standalone server, whose
//! fallback answers the routes next to the Socket.IO endpoint.
//!
//! ```sh
//! scripts/fetch-client                                   # once: the browser client
//! cargo run -p sio-async-std --example async_std_chat    # then open http://127.0.0.1:3000
//! node runtime-tokio/examples/chat/check.js              # the end-to-end check
//! ```
//!
//! Environment, routes and events: as in the tokio example (`PORT`,
//! `JWT_SECRET`, `CORS_ORIGIN`, `RUST_LOG`, the Admin UI's `ADMIN_*`).
//! async-std has no Ctrl-C handling of its own: Ctrl-C ends the process at
//! once, without telling the connected clients (they see the transport
//! close and reconnect).
//! async-std is discontinued upstream; the smol example is the same
//! program on its successor.

#[path = "../../../runtime-tokio/examples/chat/admin.rs"]
mod admin;
#[path = "../../../runtime-tokio/examples/chat/auth.rs"]
mod auth;
#[path = "../../../runtime-tokio/examples/chat/events.rs"]
mod events;
#[path = "../../../runtime-smol/examples/chat/routes.rs"]
mod routes;
#[path = "../../../runtime-tokio/examples/chat/setup.rs"]
mod setup;
#[path = "../../../runtime-tokio/examples/chat/web.rs"]
mod web;

use crate::setup::Settings;
use crate::web::Site;

fn main() -> std::io::Result<()> {
    setup::init_logging();
    let settings = Settings::from_env()?;
    async_std::task::block_on(async {
        let admin_ui = admin::AdminSettings::from_env()?;
        let admin_origin = admin_ui.as_ref().map(|a| a.ui_origin.as_str());
        let io = sio_async_std::new(setup::config(&settings, admin_origin));
        setup::install(&io, settings.keys.clone(), settings.rate_limit);
        if let Some(admin_ui) = &admin_ui {
            admin::instrument(&io, admin_ui)?;
            admin::announce(admin_ui, settings.port);
        }
        let site = Site::new(settings.keys, settings.parser);
        io.set_fallback(routes::fallback(site, settings.cors_origin));

        let port = settings.port;
        let listener = async_std::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("chat listening on http://127.0.0.1:{port}");
        sio_async_std::serve(listener, io).await
    })
}
