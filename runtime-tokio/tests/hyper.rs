//! The tower layer in a plain hyper 1 application (no axum): hyper's
//! HTTP/1.1 connection builder with upgrades, serving the layer wrapped
//! around a hand-written tower service. The sio client connects to it and
//! gets an ack over polling, over a WebSocket opened through hyper's
//! upgrade, and over polling upgraded to a WebSocket; the inner service
//! still answers its own route on the same port.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sio_tokio::{ClientConfig, ClientTransport, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_layer::Layer;
use tower_service::Service;

const WAIT: Duration = Duration::from_secs(5);

/// The application's own routes: `GET /app`, 404 elsewhere.
#[derive(Clone)]
struct App;

impl Service<http::Request<Incoming>> for App {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Incoming>) -> Self::Future {
        let found = request.uri().path() == "/app";
        Box::pin(async move {
            // Reads the body, as an application would.
            let _ = request.into_body().collect().await;
            let mut response = http::Response::new(Full::new(Bytes::from_static(if found {
                b"from the hyper app"
            } else {
                b"not found"
            })));
            if !found {
                *response.status_mut() = http::StatusCode::NOT_FOUND;
            }
            Ok(response)
        })
    }
}

/// A hyper server on a free port: the Socket.IO layer around [`App`]; the
/// server acks `double` with twice its number.
async fn start() -> SocketAddr {
    let io = sio_tokio::new(Config::default());
    io.on_connection(|socket| async move {
        socket.on("double", |_socket, n: i64, ack| async move {
            let _ = ack.send(&(n * 2));
        });
    });
    let service = sio_tokio::layer(io).layer(App);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                // tower's service as hyper's: ready, then called, per request.
                let per_request = hyper::service::service_fn(move |mut request| {
                    let mut service = service.clone();
                    request.extensions_mut().insert(peer);
                    async move {
                        poll_fn(|cx| service.poll_ready(cx)).await?;
                        service.call(request).await
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), per_request)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

/// Connects the sio client with `transports`, waits until it runs on
/// `expected`, and checks an ack round trip.
async fn round_trip(addr: SocketAddr, transports: Vec<ClientTransport>, expected: ClientTransport) {
    let mut config = ClientConfig::default();
    config.engine.transports = transports;
    let socket = sio_tokio::client::socket(&format!("http://{addr}"), config).expect("url");
    socket.connect();
    let doubled: i64 = socket
        .timeout(WAIT)
        .emit_with_ack("double", &21)
        .await
        .expect("ack");
    assert_eq!(doubled, 42);
    tokio::time::timeout(WAIT, async {
        while socket.manager().transport() != Some(expected) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "transport {:?}, expected {expected:?}",
            socket.manager().transport()
        )
    });
    let again: i64 = socket
        .timeout(WAIT)
        .emit_with_ack("double", &-4)
        .await
        .expect("ack on the final transport");
    assert_eq!(again, -8);
    assert!(socket.connected());
    socket.disconnect();
}

#[tokio::test]
async fn polling_through_hyper() {
    let addr = start().await;
    round_trip(
        addr,
        vec![ClientTransport::Polling],
        ClientTransport::Polling,
    )
    .await;
}

#[tokio::test]
async fn websocket_through_hypers_upgrade() {
    let addr = start().await;
    round_trip(
        addr,
        vec![ClientTransport::WebSocket],
        ClientTransport::WebSocket,
    )
    .await;
}

#[tokio::test]
async fn polling_upgraded_to_websocket_through_hyper() {
    let addr = start().await;
    round_trip(
        addr,
        vec![ClientTransport::Polling, ClientTransport::WebSocket],
        ClientTransport::WebSocket,
    )
    .await;
}

#[tokio::test]
async fn the_inner_service_keeps_its_routes() {
    let addr = start().await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /app HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut out))
        .await
        .expect("response in time")
        .expect("read");
    let response = String::from_utf8(out).expect("UTF-8");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("from the hyper app"), "{response}");
}
