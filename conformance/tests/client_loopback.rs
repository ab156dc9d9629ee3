//! The sio client against the sio server, on each runtime: events both
//! ways with binary, acks both ways, the disconnect reasons the server sees
//! for a client that leaves and for one whose handles are all dropped.
use std::time::Duration;

use bytes::Bytes;
use sio_driver::{ClientConfig, ClientSocket, DisconnectReason, SocketIo, UrlError};

const WAIT: Duration = Duration::from_secs(5);

async fn recv<T>(rx: &async_channel::Receiver<T>) -> T {
    let got = async { rx.recv().await.ok() };
    let timeout = async {
        smol::Timer::after(WAIT).await;
        None
    };
    futures_lite::future::or(got, timeout)
        .await
        .expect("nothing arrived in time")
}

/// The server: echoes "echo" back with its arguments, acks "double",
/// asks the client "question" on "ask", reports disconnect reasons.
fn setup(io: &SocketIo) -> async_channel::Receiver<DisconnectReason> {
    let (tx, rx) = async_channel::unbounded();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on("echo", |socket, args: (String, Bytes), _ack| async move {
                let _ = socket.emit("echo", &args);
            });
            socket.on("double", |_socket, n: i64, ack| async move {
                let _ = ack.send(&(n * 2));
            });
            socket.on("ask", |socket, (): (), _ack| async move {
                let answer: Result<String, _> = socket
                    .timeout(WAIT)
                    .emit_with_ack("question", &"who?")
                    .await;
                let _ = socket.emit("answer", &answer.unwrap_or_default());
            });
            socket.on_disconnect(move |_socket, reason| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(reason).await;
                }
            });
        }
    });
    rx
}

type SocketFn = fn(&str, ClientConfig) -> Result<ClientSocket, UrlError>;

async fn exercise(
    url: String,
    socket_fn: SocketFn,
    server_saw: async_channel::Receiver<DisconnectReason>,
) {
    let socket = socket_fn(&url, ClientConfig::default()).expect("url");
    let (tx, events) = async_channel::unbounded();
    let echoes = tx.clone();
    socket.on("echo", move |_s, args: (String, Bytes), _ack| {
        let tx = echoes.clone();
        async move {
            let _ = tx.send(format!("{} {:?}", args.0, args.1.to_vec())).await;
        }
    });
    socket.on("answer", move |_s, answer: String, _ack| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(answer).await;
        }
    });
    socket.on("question", |_s, q: String, ack| async move {
        let _ = ack.send(&format!("me, to {q}"));
    });
    socket.connect();
    socket
        .emit("echo", &("hi", Bytes::from_static(b"\x00\x01")))
        .expect("emit");
    assert_eq!(recv(&events).await, "hi [0, 1]");
    let doubled: i64 = socket
        .timeout(WAIT)
        .emit_with_ack("double", &21)
        .await
        .expect("ack");
    assert_eq!(doubled, 42);
    socket.emit("ask", &()).expect("emit");
    assert_eq!(recv(&events).await, "me, to who?");
    assert!(socket.connected());
    socket.disconnect();
    assert_eq!(
        recv(&server_saw).await,
        DisconnectReason::ClientNamespaceDisconnect
    );

    // Dropping every handle leaves the namespace (DISCONNECT, as
    // `disconnect()`) and closes the connection.
    let socket = socket_fn(&url, ClientConfig::default()).expect("url");
    socket.connect();
    let _: i64 = socket
        .timeout(WAIT)
        .emit_with_ack("double", &1)
        .await
        .expect("ack");
    drop(socket);
    assert_eq!(
        recv(&server_saw).await,
        DisconnectReason::ClientNamespaceDisconnect
    );
}

#[test]
fn tokio_client_and_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let io = sio_tokio::new(sio_tokio::Config::default());
        let saw = setup(&io);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(sio_tokio::serve(listener, io));
        exercise(url, sio_tokio::client::socket, saw).await;
    });
}

#[test]
fn smol_client_and_server() {
    smol::block_on(async {
        let io = sio_smol::new(sio_smol::Config::default());
        let saw = setup(&io);
        let listener = smol::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        smol::spawn(sio_smol::serve(listener, io)).detach();
        exercise(url, sio_smol::client::socket, saw).await;
    });
}

#[test]
fn async_std_client_and_server() {
    async_std::task::block_on(async {
        let io = sio_async_std::new(sio_async_std::Config::default());
        let saw = setup(&io);
        let listener = async_std::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        async_std::task::spawn(sio_async_std::serve(listener, io));
        exercise(url, sio_async_std::client::socket, saw).await;
    });
}
