//! The Engine.IO client on any runtime (npm `engine.io-client`'s
//! `Socket`): the core's [`EngineClient`](CoreClient) on the same host,
//! connections and pumps as the Socket.IO manager.
//!
//! Handlers run as the Socket.IO client's: events in arrival order, each
//! handler synchronously until its first await, never under the lock.
//! The handle owns the client: when its last clone is dropped the
//! connection closes and the tasks end.
//!
//! Floor: beside `client::manager`, on `client::conns`, `host` and `jobs`;
//! `engine_io` re-exports it.

use std::sync::{Arc, Mutex};

use core::future::Future;

use crate::host::{start_timers, Host, Hosted, Machine, Next, Router};
use crate::jobs::{start_in_order, JobQueue};
use crate::message::Message;
use crate::runtime::{BoxFuture, Connector, Runtime};
use crate::sync::lock;
use sio_core::client::{
    ClientEvent, Config as CoreConfig, ConnId, DisconnectReason, EngineClient as CoreClient,
    Output, SendError, Transport,
};
use sio_core::engine::OpenPacket;
use sio_core::time::Instant;

use super::conns::{random_seed, unix_secs, Conns, Dial};
use super::pump::PumpSink;

/// What an [`EngineClient`] hears, in order (engine.io-client's events).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineClientEvent {
    /// The open packet came (`open`; its fields are the `handshake`).
    Open(OpenPacket),
    /// A message from the server (`message`).
    Message(Message),
    /// The connection moved from long-polling to a WebSocket (`upgrade`).
    Upgrade,
    /// The attempt failed before the open packet (`error`); `Close`
    /// follows.
    Error(&'static str),
    /// The connection is closed for good (`close`), with engine.io-client's
    /// reason: "transport close", "transport error", "ping timeout",
    /// "forced close".
    Close(DisconnectReason),
}

type Handler = Arc<dyn Fn(EngineClient, EngineClientEvent) -> BoxFuture<()> + Send + Sync>;

struct Inner {
    runtime: Arc<dyn Runtime>,
    host: Host<CoreClient>,
    conns: Conns<Inner>,
    handlers: Mutex<Vec<Handler>>,
    jobs: JobQueue<EngineClientEvent>,
}

/// An Engine.IO client connection (engine.io-client's `Socket`). Cloning
/// shares it. Register handlers, then [`EngineClient::connect`]; messages
/// sent before the open packet wait for it.
#[derive(Clone)]
pub struct EngineClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EngineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineClient").finish_non_exhaustive()
    }
}

impl Machine for CoreClient {
    type Output = Output;

    fn poll_next(&mut self) -> Next<Output> {
        match self.poll_output() {
            Output::Timeout(at) => Next::Timeout(at),
            output => Next::Output(output),
        }
    }
}

impl EngineClient {
    pub(super) fn start<R: Runtime + Connector>(
        runtime: R,
        config: CoreConfig,
        dial: Dial,
    ) -> Self {
        let runtime = Arc::new(runtime);
        let conns = Conns::new(runtime.clone(), dial);
        let runtime = runtime as Arc<dyn Runtime>;
        let seed = random_seed(&*runtime);
        let inner = Arc::new(Inner {
            host: Host::new(runtime.clone(), CoreClient::new(config, seed)),
            runtime,
            conns,
            handlers: Mutex::new(Vec::new()),
            jobs: JobQueue::default(),
        });
        start_timers(&inner);
        let unix_secs = unix_secs(&*inner.runtime);
        inner.process(|client, now| client.set_wall_clock(now, unix_secs));
        EngineClient { inner }
    }

    /// Opens the connection (once: a closed client stays closed).
    pub fn connect(&self) {
        self.inner.process(|client, now| client.open(now));
    }

    /// Closes the connection: `Close` with "forced close".
    pub fn close(&self) {
        self.inner.process(|client, now| client.close(now));
    }

    /// Sends `message`, or buffers it until the open packet.
    pub fn send(&self, message: &Message) -> Result<(), SendError> {
        match message {
            Message::Text(text) => self.send_text(text),
            Message::Binary(data) => self.send_binary(data),
        }
    }

    /// Sends a text message, or buffers it until the open packet.
    pub fn send_text(&self, text: &str) -> Result<(), SendError> {
        let text = bytestring::ByteString::from(text);
        self.inner
            .process(|client, now| client.send_text(now, text))
    }

    /// Sends a binary message, or buffers it until the open packet.
    pub fn send_binary(&self, data: &[u8]) -> Result<(), SendError> {
        let data = bytes::Bytes::copy_from_slice(data);
        self.inner
            .process(|client, now| client.send_binary(now, data))
    }

    /// Calls `handler` for every event, in order.
    pub fn on_event<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineClient, EngineClientEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers).push(Arc::new(move |c, e| Box::pin(handler(c, e))));
    }

    /// Calls `handler` with every message (`socket.on("message")`).
    pub fn on_message<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineClient, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_event(move |client, event| {
            let run = match event {
                EngineClientEvent::Message(message) => Some(handler(client, message)),
                _ => None,
            };
            async move {
                if let Some(run) = run {
                    run.await;
                }
            }
        });
    }

    /// Calls `handler` once the connection is closed, with why (`socket.on("close")`).
    pub fn on_close<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineClient, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_event(move |client, event| {
            let run = match event {
                EngineClientEvent::Close(reason) => Some(handler(client, reason)),
                _ => None,
            };
            async move {
                if let Some(run) = run {
                    run.await;
                }
            }
        });
    }

    /// The open packet while the connection is open.
    pub fn handshake(&self) -> Option<OpenPacket> {
        self.inner.host.read(|client| client.handshake().cloned())
    }

    /// The session id while the connection is open.
    pub fn id(&self) -> Option<String> {
        self.handshake().map(|open| open.sid)
    }

    /// The transport of the connection (`socket.transport.name`).
    pub fn transport(&self) -> Option<Transport> {
        self.inner.host.read(CoreClient::transport)
    }

    /// Whether the open packet came and the connection is not closed.
    pub fn is_open(&self) -> bool {
        self.inner.host.read(CoreClient::is_open)
    }

    /// Whether the connection is closed for good.
    pub fn is_closed(&self) -> bool {
        self.inner.host.read(CoreClient::is_closed)
    }

    fn futures_for(&self, event: &EngineClientEvent) -> Vec<BoxFuture<()>> {
        let handlers = lock(&self.inner.handlers).clone();
        handlers
            .iter()
            .map(|handler| handler(self.clone(), event.clone()))
            .collect()
    }

    async fn run_jobs(self) {
        while let Some(event) = self.inner.jobs.next() {
            let futures = self.futures_for(&event);
            start_in_order(&*self.inner.runtime, futures).await;
        }
    }
}

impl Inner {
    fn process<R>(self: &Arc<Self>, f: impl FnOnce(&mut CoreClient, Instant) -> R) -> R {
        self.host.process(&mut Routes(self), f)
    }

    fn push_event(self: &Arc<Self>, event: EngineClientEvent) {
        if self.jobs.push(event) {
            let client = EngineClient {
                inner: self.clone(),
            };
            self.runtime.spawn(Box::pin(client.run_jobs()));
        }
    }
}

/// One drain of the client's outputs.
struct Routes<'a>(&'a Arc<Inner>);

impl Router<CoreClient> for Routes<'_> {
    fn route(&mut self, client: &CoreClient, output: Output) {
        let Some(event) = self.0.conns.route(self.0, output) else {
            return;
        };
        let event = match event {
            ClientEvent::Open { .. } => match client.handshake() {
                Some(open) => EngineClientEvent::Open(open.clone()),
                None => return,
            },
            ClientEvent::Message { text } => {
                EngineClientEvent::Message(Message::Text(text.to_string()))
            }
            ClientEvent::BinaryMessage { data } => {
                EngineClientEvent::Message(Message::Binary(data))
            }
            ClientEvent::Upgraded => EngineClientEvent::Upgrade,
            ClientEvent::OpenError { message } => EngineClientEvent::Error(message),
            ClientEvent::Closed { reason } => EngineClientEvent::Close(reason),
            _ => return,
        };
        self.0.push_event(event);
    }
}

impl Hosted for Inner {
    type Machine = CoreClient;

    fn host(&self, _shard: usize) -> &Host<CoreClient> {
        &self.host
    }

    fn on_timeout(self: &Arc<Self>, _shard: usize) {
        self.process(|client, now| client.handle_timeout(now));
    }
}

impl PumpSink for Inner {
    fn connected(self: &Arc<Self>, conn: ConnId) {
        self.process(|client, now| client.handle_connected(now, conn));
    }

    fn data(self: &Arc<Self>, conn: ConnId, data: &[u8]) {
        self.process(|client, now| client.handle_data(now, conn, data));
    }

    fn closed(self: &Arc<Self>, conn: ConnId, error: Option<String>) {
        if let Some(error) = error {
            tracing::debug!(%error, "engine.io client connection failed");
        }
        self.conns.forget(conn);
        self.process(|client, now| client.handle_closed(now, conn));
    }
}
