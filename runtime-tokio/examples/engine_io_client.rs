//! Engine.IO alone, the client: sends a text and a binary message to an
//! Engine.IO echo server, prints what comes back, then closes. Try it with
//! the `engine_io_echo` example, or Node's `engine.io` (default path
//! `/engine.io/`):
//!
//! ```text
//! cargo run -p sio-tokio --example engine_io_client -- http://127.0.0.1:3000/engine.io/
//! ```
use sio_tokio::engine_io::{self, EngineClientEvent, Message};
use sio_tokio::ClientConfig;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:3000/engine.io/".into());
    let client = engine_io::client(&url, ClientConfig::default())?;
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let done_tx = std::sync::Mutex::new(Some(done_tx));
    let echoes = std::sync::atomic::AtomicUsize::new(0);
    client.on_event(move |client, event| {
        match &event {
            EngineClientEvent::Open(open) => {
                println!("open {} via {:?}", open.sid, client.transport())
            }
            EngineClientEvent::Message(Message::Text(text)) => println!("text {text}"),
            EngineClientEvent::Message(Message::Binary(data)) => println!("binary {data:?}"),
            EngineClientEvent::Upgrade => println!("upgraded"),
            EngineClientEvent::Error(message) => println!("error {message}"),
            EngineClientEvent::Close(reason) => {
                println!("close {reason}");
                if let Some(tx) = done_tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
            }
            _ => {}
        }
        if matches!(event, EngineClientEvent::Message(_))
            && echoes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1
        {
            // Both echoes are back.
            client.close();
        }
        async {}
    });
    // Sent as soon as the connection opens.
    client.send_text("hello")?;
    client.send_binary(&[1, 2, 3])?;
    client.connect();
    let _ = done.await;
    Ok(())
}
