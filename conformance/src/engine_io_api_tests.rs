//! The Engine.IO API (server and client) over real loopback sockets,
//! written once for every runtime: the runtime's `engine_io::new` and
//! `engine_io::serve` on `127.0.0.1:0`, and its `engine_io::client`.
//!
//! [`engine_io_api_tests!`](crate::engine_io_api_tests!) expands to one
//! `#[test]` per function; `conformance/tests/engine_io_api.rs` holds one
//! module per runtime:
//!
//! ```ignore
//! mod tokio {
//!     sio_conformance::engine_io_api_tests!(sio_conformance::engine_io_api_tests::Tokio);
//! }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use async_channel::Receiver;
use bytes::Bytes;
use sio_driver::engine_io::{
    ClientCloseReason, CloseReason, Config, EngineClient, EngineClientEvent, EngineIo, Message,
};
use sio_driver::{ClientConfig, ClientTransport, UrlError};

/// How long a test waits for something that should happen.
const WAIT: Duration = Duration::from_secs(5);

type Test = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One runtime's Engine.IO entry points.
pub trait EngineIoRuntime: 'static {
    /// Runs `test` to its end on a fresh runtime.
    fn block_on(test: Test);
    /// `engine_io::new(config)` (inside the runtime).
    fn server(config: Config) -> EngineIo;
    /// Binds `127.0.0.1:0` and serves `server` on it in the background.
    fn serve(server: EngineIo) -> SocketAddr;
    /// `engine_io::client(url, config)`.
    fn client(url: &str, config: ClientConfig) -> Result<EngineClient, UrlError>;
}

fn loopback() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    listener
}

/// tokio: a multi-threaded runtime (two workers).
#[derive(Debug)]
pub struct Tokio;

impl EngineIoRuntime for Tokio {
    fn block_on(test: Test) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(test);
    }

    fn server(config: Config) -> EngineIo {
        sio_tokio::engine_io::new(config)
    }

    fn serve(server: EngineIo) -> SocketAddr {
        let listener = tokio::net::TcpListener::from_std(loopback()).expect("listener");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(sio_tokio::engine_io::serve(listener, server));
        addr
    }

    fn client(url: &str, config: ClientConfig) -> Result<EngineClient, UrlError> {
        sio_tokio::engine_io::client(url, config)
    }
}

/// smol: its global executor.
#[derive(Debug)]
pub struct Smol;

impl EngineIoRuntime for Smol {
    fn block_on(test: Test) {
        smol::block_on(test);
    }

    fn server(config: Config) -> EngineIo {
        sio_smol::engine_io::new(config)
    }

    fn serve(server: EngineIo) -> SocketAddr {
        let listener = smol::net::TcpListener::try_from(loopback()).expect("listener");
        let addr = listener.local_addr().expect("addr");
        smol::spawn(sio_smol::engine_io::serve(listener, server)).detach();
        addr
    }

    fn client(url: &str, config: ClientConfig) -> Result<EngineClient, UrlError> {
        sio_smol::engine_io::client(url, config)
    }
}

/// async-std: its global executor.
#[derive(Debug)]
pub struct AsyncStd;

impl EngineIoRuntime for AsyncStd {
    fn block_on(test: Test) {
        async_std::task::block_on(test);
    }

    fn server(config: Config) -> EngineIo {
        sio_async_std::engine_io::new(config)
    }

    fn serve(server: EngineIo) -> SocketAddr {
        let listener = async_std::net::TcpListener::from(loopback());
        let addr = listener.local_addr().expect("addr");
        async_std::task::spawn(sio_async_std::engine_io::serve(listener, server));
        addr
    }

    fn client(url: &str, config: ClientConfig) -> Result<EngineClient, UrlError> {
        sio_async_std::engine_io::client(url, config)
    }
}

/// Expands to one `#[test]` per Engine.IO API test, on `$runtime`.
#[macro_export]
macro_rules! engine_io_api_tests {
    ($runtime:ty) => {
        $crate::engine_io_api_tests!(@tests $runtime;
            echo_over_polling,
            echo_over_websocket,
            echo_over_the_upgrade,
            server_close_is_a_transport_close_for_the_client,
            unreachable_server_is_an_error_then_a_close,
        );
    };
    (@tests $runtime:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::engine_io_api_tests::$name::<$runtime>();
            }
        )*
    };
}

async fn recv<T>(rx: &Receiver<T>, what: &str) -> T {
    let got = async {
        rx.recv()
            .await
            .map_err(|_| format!("{what}: channel closed"))
    };
    let timeout = async {
        smol::Timer::after(WAIT).await;
        Err(format!("no {what} within {WAIT:?}"))
    };
    futures_lite::future::or(got, timeout).await.unwrap()
}

/// What the server saw of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Open { id: String, transport: &'static str },
    Close(CloseReason),
}

/// An echo server on `R` that reports sessions; `close_me` makes it close
/// the session.
fn echo_server<R: EngineIoRuntime>() -> (SocketAddr, Receiver<Seen>) {
    let mut config = Config::default();
    config.path = "/engine.io/".into();
    let server = R::server(config);
    let (tx, rx) = async_channel::unbounded();
    server.on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let transport = socket.transport().map_or("none", |t| t.as_str());
            let _ = tx.try_send(Seen::Open {
                id: socket.id().to_owned(),
                transport,
            });
            socket.on_message(|socket, message| async move {
                if message == Message::Text("close-me".into()) {
                    socket.close();
                } else {
                    let _ = socket.send(&message);
                }
            });
            socket.on_close(move |_, reason| {
                let tx = tx.clone();
                async move {
                    let _ = tx.try_send(Seen::Close(reason));
                }
            });
        }
    });
    (R::serve(server), rx)
}

fn client<R: EngineIoRuntime>(
    addr: SocketAddr,
    transports: &[ClientTransport],
) -> (EngineClient, Receiver<EngineClientEvent>) {
    let mut config = ClientConfig::default();
    config.engine.transports = transports.to_vec();
    let url = format!("http://{addr}/engine.io/");
    let client = R::client(&url, config).expect("client");
    let (tx, rx) = async_channel::unbounded();
    client.on_event(move |_, event| {
        let tx = tx.clone();
        async move {
            if event != EngineClientEvent::Upgrade {
                let _ = tx.send(event).await;
            }
        }
    });
    (client, rx)
}

fn echo_on<R: EngineIoRuntime>(transports: &'static [ClientTransport]) {
    R::block_on(Box::pin(async move {
        let (addr, seen) = echo_server::<R>();
        let (client, events) = client::<R>(addr, transports);
        client.send_text("before open").unwrap();
        client.connect();
        let EngineClientEvent::Open(open) = recv(&events, "open").await else {
            panic!("the first event is not open");
        };
        let Seen::Open { id, transport } = recv(&seen, "server open").await else {
            panic!("the server saw no session");
        };
        assert_eq!(id, open.sid);
        assert_eq!(transport, transports[0].as_str());
        client.send_binary(&[0, 1, 255]).unwrap();
        assert_eq!(
            recv(&events, "text echo").await,
            EngineClientEvent::Message(Message::Text("before open".into()))
        );
        assert_eq!(
            recv(&events, "binary echo").await,
            EngineClientEvent::Message(Message::Binary(Bytes::from_static(&[0, 1, 255])))
        );
        client.close();
        assert_eq!(
            recv(&events, "close").await,
            EngineClientEvent::Close(ClientCloseReason::ForcedClose)
        );
        assert_eq!(
            recv(&seen, "server close").await,
            Seen::Close(CloseReason::TransportClose)
        );
    }));
}

/// Text and binary echo over long-polling only.
pub fn echo_over_polling<R: EngineIoRuntime>() {
    echo_on::<R>(&[ClientTransport::Polling]);
}

/// Text and binary echo over a WebSocket only.
pub fn echo_over_websocket<R: EngineIoRuntime>() {
    echo_on::<R>(&[ClientTransport::WebSocket]);
}

/// Text and binary echo over polling then the upgrade.
pub fn echo_over_the_upgrade<R: EngineIoRuntime>() {
    echo_on::<R>(&[ClientTransport::Polling, ClientTransport::WebSocket]);
}

/// The server closing the session: "transport close" for the client,
/// "forced close" for the server.
pub fn server_close_is_a_transport_close_for_the_client<R: EngineIoRuntime>() {
    R::block_on(Box::pin(async {
        let (addr, seen) = echo_server::<R>();
        for transports in [
            &[ClientTransport::WebSocket][..],
            &[ClientTransport::Polling],
        ] {
            let (client, events) = client::<R>(addr, transports);
            client.connect();
            assert!(matches!(
                recv(&events, "open").await,
                EngineClientEvent::Open(_)
            ));
            assert!(matches!(
                recv(&seen, "server open").await,
                Seen::Open { .. }
            ));
            client.send_text("close-me").unwrap();
            assert_eq!(
                recv(&events, "close").await,
                EngineClientEvent::Close(ClientCloseReason::TransportClose)
            );
            assert_eq!(
                recv(&seen, "server close").await,
                Seen::Close(CloseReason::ForcedClose)
            );
            assert!(client.is_closed());
        }
    }));
}

/// No server on the port: `error`, then `close` with "transport error".
pub fn unreachable_server_is_an_error_then_a_close<R: EngineIoRuntime>() {
    R::block_on(Box::pin(async {
        // A port that was free a moment ago.
        let addr = loopback().local_addr().expect("addr");
        let (client, events) = client::<R>(addr, &[ClientTransport::Polling]);
        client.connect();
        assert!(matches!(
            recv(&events, "error").await,
            EngineClientEvent::Error(_)
        ));
        assert_eq!(
            recv(&events, "close").await,
            EngineClientEvent::Close(ClientCloseReason::TransportError)
        );
    }));
}
