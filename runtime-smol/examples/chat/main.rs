//! The chat example of `runtime-tokio/examples/chat` on sio-smol: the same
//! application (`auth.rs`, `events.rs`, `web.rs`, `setup.rs` are included
//! from there), served by sio-smol's standalone server, whose fallback
//! answers the HTTP routes (`routes.rs`) next to the Socket.IO endpoint.
//!
//! ```sh
//! scripts/fetch-client                              # once: the browser client
//! cargo run -p sio-smol --example smol_chat         # then open http://127.0.0.1:3000
//! node runtime-tokio/examples/chat/check.js         # the end-to-end check
//! ```
//!
//! Environment, routes and events: as in the tokio example (`PORT`,
//! `JWT_SECRET`, `CORS_ORIGIN`, `RUST_LOG`; the Admin UI's `ADMIN_*`). smol has no Ctrl-C handling of
//! its own: Ctrl-C ends the process at once, without telling the
//! connected clients (they see the transport close and reconnect).

#[path = "../../../runtime-tokio/examples/chat/admin.rs"]
mod admin;
#[path = "../../../runtime-tokio/examples/chat/auth.rs"]
mod auth;
#[path = "../../../runtime-tokio/examples/chat/events.rs"]
mod events;
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
    smol::block_on(async {
        let admin_ui = admin::AdminSettings::from_env()?;
        let admin_origin = admin_ui.as_ref().map(|a| a.ui_origin.as_str());
        let io = sio_smol::new(setup::config(&settings, admin_origin));
        setup::install(&io, settings.keys.clone(), settings.rate_limit);
        if let Some(admin_ui) = &admin_ui {
            admin::instrument(&io, admin_ui)?;
            admin::announce(admin_ui, settings.port);
        }
        let site = Site::new(settings.keys, settings.parser);
        io.set_fallback(routes::fallback(site, settings.cors_origin));

        let port = settings.port;
        let listener = smol::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("chat listening on http://127.0.0.1:{port}");
        sio_smol::serve(listener, io).await
    })
}
