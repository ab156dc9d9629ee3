//! The tower layer over real loopback sockets: the inner application's
//! routes still answer, and the Socket.IO endpoint works over polling and
//! over a WebSocket upgraded through hyper.

use std::time::Duration;

use axum::{routing::get, Router};
use bytes::BytesMut;
use sio_core::wire::ws::frame::{encode_frame, Decoder, Limits, Message, OpCode, Role};
use sio_core::wire::ws::handshake::{client_key, client_request_head};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start() -> std::net::SocketAddr {
    let io = sio_tokio::new(sio_tokio::Config::default());
    io.on_connection(|socket| async move {
        socket.on("ping-me", |socket, n: u32, _ack| async move {
            let _ = socket.emit("pong-you", &(n + 1));
        });
    });
    let app = Router::new()
        .route("/app", get(|| async { "from the app" }))
        .layer(sio_tokio::layer(io));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// One HTTP/1.1 request with `Connection: close`; the whole response as text.
async fn http(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .expect("response in time")
        .expect("read");
    String::from_utf8(out).expect("UTF-8")
}

#[tokio::test]
async fn inner_routes_and_polling_share_the_port() {
    let addr = start().await;
    let app = http(addr, "/app").await;
    assert!(app.starts_with("HTTP/1.1 200"), "{app}");
    assert!(app.ends_with("from the app"), "{app}");

    let open = http(addr, "/socket.io/?EIO=4&transport=polling").await;
    assert!(open.starts_with("HTTP/1.1 200"), "{open}");
    let body = open.split("\r\n\r\n").nth(1).expect("body");
    assert!(body.starts_with("0{\"sid\":\""), "{body}");
    assert!(
        body.ends_with(",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}"),
        "{body}"
    );

    let refused = http(addr, "/socket.io/?EIO=3&transport=polling").await;
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    assert!(
        refused.ends_with("{\"code\":5,\"message\":\"Unsupported protocol version\"}"),
        "{refused}"
    );
}

struct Ws {
    stream: TcpStream,
    decoder: Decoder,
}

impl Ws {
    async fn send_text(&mut self, text: &str) {
        let mut frame = BytesMut::new();
        encode_frame(
            &mut frame,
            true,
            OpCode::Text,
            text.as_bytes(),
            Some([1, 2, 3, 4]),
        );
        self.stream.write_all(&frame).await.expect("write frame");
    }

    async fn recv_text(&mut self) -> String {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(message) = self.decoder.poll_message().expect("valid frames") {
                match message {
                    Message::Text(text) => return text.to_string(),
                    other => panic!("unexpected {other:?}"),
                }
            }
            let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf))
                .await
                .expect("frame in time")
                .expect("read");
            assert!(n > 0, "connection closed");
            self.decoder.feed(&buf[..n]);
        }
    }
}

#[tokio::test]
async fn websocket_through_the_layer() {
    let addr = start().await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let key = client_key([7; 16]);
    let head = client_request_head("localhost", "/socket.io/?EIO=4&transport=websocket", &key);
    stream.write_all(head.as_bytes()).await.expect("write");
    // Read the 101 head byte by byte so no frame byte is swallowed.
    let mut response = Vec::new();
    while !response.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
            .await
            .expect("head in time")
            .expect("read");
        assert!(n == 1, "closed during the handshake");
        response.push(byte[0]);
    }
    let response = String::from_utf8(response).expect("UTF-8");
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");

    let mut ws = Ws {
        stream,
        decoder: Decoder::new(Role::Client, Limits::default()),
    };
    let open = ws.recv_text().await;
    assert!(
        open.starts_with("0{\"sid\":\"") && open.contains("\"upgrades\":[]"),
        "{open}"
    );
    ws.send_text("40").await;
    let connected = ws.recv_text().await;
    assert!(connected.starts_with("40{\"sid\":\""), "{connected}");
    ws.send_text("42[\"ping-me\",41]").await;
    assert_eq!(ws.recv_text().await, "42[\"pong-you\",42]");
}

/// An Engine.IO echo server mounted with `engine_io::layer` in front of an
/// axum app, and the sio Engine.IO client through it on every transport.
#[tokio::test]
async fn engine_io_through_the_layer_with_the_engine_io_client() {
    use sio_tokio::engine_io::{self, EngineClientEvent, Message};
    use sio_tokio::{ClientConfig, ClientTransport};

    let mut config = engine_io::Config::default();
    config.path = "/engine.io/".into();
    let server = engine_io::new(config);
    server.on_connection(|socket| async move {
        socket.on_message(|socket, message| async move {
            let _ = socket.send(&message);
        });
    });
    let app = Router::new()
        .route("/app", get(|| async { "from the app" }))
        .layer(engine_io::layer(server.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let app = http(addr, "/app").await;
    assert!(app.ends_with("from the app"), "{app}");
    let open = http(addr, "/engine.io/?EIO=4&transport=polling").await;
    let body = open.split("\r\n\r\n").nth(1).expect("body");
    assert!(body.starts_with("0{\"sid\":\""), "{open}");

    for transports in [
        &[ClientTransport::Polling][..],
        &[ClientTransport::WebSocket],
        &[ClientTransport::Polling, ClientTransport::WebSocket],
    ] {
        let mut config = ClientConfig::default();
        config.engine.transports = transports.to_vec();
        let client = engine_io::client(&format!("http://{addr}/engine.io/"), config).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        client.on_event(move |_, event| {
            if event != EngineClientEvent::Upgrade {
                let _ = tx.send(event);
            }
            async {}
        });
        client.send_text("through tower").unwrap();
        client.send_binary(&[9, 8, 7]).unwrap();
        client.connect();
        assert!(matches!(next(&mut rx).await, EngineClientEvent::Open(_)));
        assert_eq!(
            next(&mut rx).await,
            EngineClientEvent::Message(Message::Text("through tower".into()))
        );
        assert_eq!(
            next(&mut rx).await,
            EngineClientEvent::Message(Message::Binary(vec![9, 8, 7].into()))
        );
        client.close();
        assert!(matches!(next(&mut rx).await, EngineClientEvent::Close(_)));
    }
}

async fn next<T>(rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("event in time")
        .expect("event")
}

/// One raw HTTP/1.1 exchange with `Connection: close`: the response text.
async fn raw_http(addr: std::net::SocketAddr, request: String) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .expect("response in time")
        .expect("read");
    String::from_utf8(out).expect("UTF-8")
}

/// A polling POST over `max_http_buffer_size` through the layer: 413,
/// and the session fails as on the standalone server (engine.io 6.6's
/// "payload too large"): the socket hears "transport error", the session's
/// next request gets 400.
#[tokio::test]
async fn an_oversized_post_is_refused_and_fails_its_session() {
    let mut config = sio_tokio::Config::default();
    config.engine.max_http_buffer_size = 100;
    let io = sio_tokio::new(config);
    let (tx, mut reasons) = tokio::sync::mpsc::unbounded_channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on_disconnect(move |_, reason| {
                let _ = tx.send(reason);
                async {}
            });
        }
    });
    let app = Router::new()
        .route("/app", get(|| async { "from the app" }))
        .layer(sio_tokio::layer(io.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let open = http(addr, "/socket.io/?EIO=4&transport=polling").await;
    let body = open.split("\r\n\r\n").nth(1).expect("body");
    let sid = body
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("sid")
        .to_owned();
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let post = |payload: String| {
        raw_http(
            addr,
            format!(
                "POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                payload.len()
            ),
        )
    };
    let connected = post("40".into()).await;
    assert!(connected.ends_with("\r\n\r\nok"), "{connected}");
    let refused = post(format!("4{}", "x".repeat(200))).await;
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    assert_eq!(
        next(&mut reasons).await,
        sio_tokio::DisconnectReason::TransportError
    );
    let after = http(addr, &target).await;
    assert!(after.starts_with("HTTP/1.1 400"), "{after}");
}
