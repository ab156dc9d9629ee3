//! The sio server of the client-cookie-routing row
//! (`scenario-server <runtime> cookie-routing`): Node's `cookie: true`
//! (the `io` cookie on the handshake), and `server-name`, answered with a
//! name of this process, so a client behind the routing proxy can tell
//! which of the two servers answered.

use crate::{Config, Scenario, SocketIo};

/// Its name on the command line.
pub static SERVER: Scenario = Scenario {
    name: "cookie-routing",
    what: "io cookie on; server-name tells the process apart",
    config,
    setup,
};

fn config(config: &mut Config) {
    config.engine.cookie = Some(sio_driver::Cookie::default());
}

fn setup(io: &SocketIo) {
    let name = format!("sio-{}", std::process::id());
    io.on_connection(move |socket| {
        let name = name.clone();
        async move {
            socket.on("server-name", move |_, (): (), ack| {
                let _ = ack.send(&name);
                std::future::ready(())
            });
        }
    });
}
