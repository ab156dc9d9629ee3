//! A tiny server for trying sio on smol with any Socket.IO client: `echo`
//! comes back through the ack exactly as sent (binary included), `chat` is
//! relayed to everyone else.
use sio_smol::Config;

fn main() -> std::io::Result<()> {
    smol::block_on(async {
        let io = sio_smol::new(Config::default());
        io.on_connection(|socket| async move {
            socket.on_payload("echo", |_socket, payload, ack| async move {
                let _ = ack.send_raw(payload.args(), payload.attachments().to_vec());
            });
            socket.on("chat", |socket, text: String, _ack| async move {
                let _ = socket.broadcast().emit("chat", &text);
            });
        });
        let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
        let listener = smol::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        println!("listening on http://127.0.0.1:{port}");
        sio_smol::serve(listener, io).await
    })
}
