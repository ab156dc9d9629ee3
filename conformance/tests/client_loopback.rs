//! The sio client against the sio server, on each runtime: events both
//! ways with binary, acks both ways, the disconnect reasons the server sees
//! for a client that leaves and for one whose handles are all dropped;
//! connection state recovery through a cut connection (smol).
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

/// A TCP relay in front of the server whose connections can all be cut at
/// once (the server and the client each see their connection drop, as when
/// a phone changes networks); it keeps accepting.
struct Relay {
    url: String,
    links: std::sync::Arc<std::sync::Mutex<Vec<smol::Task<()>>>>,
}

impl Relay {
    async fn start(upstream: std::net::SocketAddr) -> Relay {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = links.clone();
        smol::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = smol::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                // Dropping the task drops every clone of both streams: both
                // ends see the connection close.
                let link = smol::spawn(async move {
                    let up = futures_lite::io::copy(client.clone(), server.clone());
                    let down = futures_lite::io::copy(server, client);
                    let _ = futures_lite::future::zip(up, down).await;
                });
                kept.lock().unwrap().push(link);
            }
        })
        .detach();
        Relay { url, links }
    }

    fn cut(&self) {
        self.links.lock().unwrap().clear();
    }
}

/// Connection state recovery, the sio client against the sio server over
/// real sockets (smol): the relay cuts the connection; while the client is
/// away its server-side disconnect handler sends 1..=100 (odd ones to the
/// socket, even ones to its room); the client comes back with its id and
/// room, `recovered()`, and every missed event in order, the offsets
/// stripped before its typed handler.
#[test]
fn smol_client_recovers_after_a_cut() {
    smol::block_on(async {
        let mut config = sio_smol::Config::default();
        config.connection_state_recovery = Some(sio_driver::RecoveryConfig::default());
        let io = sio_smol::new(config);
        let (joined_tx, joined) = async_channel::unbounded();
        let io2 = io.clone();
        io.on_connection(move |socket| {
            let (joined_tx, io) = (joined_tx.clone(), io2.clone());
            async move {
                if !socket.recovered() {
                    let _ = socket.join("room");
                    let _ = socket.emit("n", &0u32);
                }
                let _ = joined_tx
                    .send((socket.id().to_owned(), socket.recovered(), socket.rooms()))
                    .await;
                socket.on_disconnect(move |socket, _reason| {
                    let io = io.clone();
                    async move {
                        for i in 1..=100u32 {
                            let _ = if i % 2 == 1 {
                                socket.emit("n", &i)
                            } else {
                                io.to("room").emit("n", &i)
                            };
                        }
                    }
                });
            }
        });
        let listener = smol::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let upstream = listener.local_addr().expect("addr");
        smol::spawn(sio_smol::serve(listener, io)).detach();
        let relay = Relay::start(upstream).await;

        let mut config = ClientConfig::default();
        config.engine.transports = vec![sio_driver::ClientTransport::WebSocket];
        config.engine.reconnection_delay = Duration::from_millis(300);
        config.engine.randomization_factor = 0.0;
        let client = sio_smol::client::socket(&relay.url, config).expect("url");
        let (n_tx, n) = async_channel::unbounded();
        client.on("n", move |_socket, i: u32, _ack| {
            let n_tx = n_tx.clone();
            async move {
                let _ = n_tx.send(i).await;
            }
        });
        client.connect();
        let (id, recovered, _) = recv(&joined).await;
        assert!(!recovered);
        assert_eq!(recv(&n).await, 0);
        assert!(!client.recovered());

        relay.cut();
        let (again, recovered, mut rooms) = recv(&joined).await;
        rooms.sort();
        assert_eq!((again, recovered), (id.clone(), true));
        let mut expected = vec![id.clone(), "room".to_owned()];
        expected.sort();
        assert_eq!(rooms, expected);
        let mut missed = Vec::new();
        for _ in 1..=100 {
            missed.push(recv(&n).await);
        }
        assert_eq!(missed, (1..=100).collect::<Vec<u32>>());
        assert!(client.recovered());
        assert_eq!(client.id(), Some(id));
    });
}
