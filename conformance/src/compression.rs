//! The compression scenarios (issue 19): permessage-deflate on and HTTP
//! compression at its default, for `clients/compression.js` (the npm
//! client, whose `ws` negotiates permessage-deflate, and raw polling
//! requests decoded by Node's zlib) and `clients/compression-browser.js`
//! (headless Chromium, which offers both as every browser does).

use sio_driver::DeflateOptions;

use crate::{Config, Scenario, SocketIo};

/// The scenario with the npm client.
pub const NODE: Scenario = Scenario {
    name: "compression",
    what: "permessage-deflate and gzip/deflate polling, npm client",
    config: deflate_on,
    setup: compression,
};

/// The scenario in Chromium.
pub const BROWSER: Scenario = Scenario {
    name: "compression-browser",
    what: "permessage-deflate and polling compression in Chromium",
    config: deflate_on,
    setup: compression,
};

/// Node's options with `perMessageDeflate: true` (threshold 1,024);
/// `httpCompression` is on by default.
fn deflate_on(config: &mut Config) {
    config.engine.per_message_deflate = Some(DeflateOptions::default());
}

/// `echo` acks its arguments; `big` (a length) is answered with a `big`
/// event holding that many bytes of repetitive text.
fn compression(io: &SocketIo) {
    io.on_connection(|socket| async move {
        socket.on_payload("echo", |_socket, payload, ack| async move {
            let _ = ack.send_raw(payload.args(), payload.attachments().to_vec());
        });
        socket.on("big", |socket, len: usize, _ack| async move {
            let _ = socket.emit("big", &big_text(len.min(900_000)));
        });
    });
}

/// `len` bytes of text that compress well (as chat logs and JSON do).
pub fn big_text(len: usize) -> String {
    "sio compresses this line; "
        .chars()
        .cycle()
        .take(len)
        .collect()
}
