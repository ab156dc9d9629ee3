//! The manager: one core client behind a lock, its connections and its
//! timer task, shared by the sockets of its namespaces.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use core::future::Future;
use serde::de::DeserializeOwned;

use crate::ack::AckReply;
use crate::host::{start_timers, Host, Hosted, Machine, Next, Router};
use crate::jobs::{start_in_order, JobQueue};
use crate::payload::Payload;
use crate::runtime::{BoxFuture, Connector, Runtime};
use crate::sync::lock;
use sio_core::client::{
    Client, ClientEvent, Config as CoreConfig, ConnId, DisconnectReason, Output, Transport,
};
use sio_core::packet::RawJson;
use sio_core::time::Instant;

use super::auth::{auth_json, AuthProvider};
use super::conns::{random_seed, unix_secs, Conns, Dial};
use super::pump::PumpSink;

/// Why the server refused a namespace (CONNECT_ERROR).
#[derive(Debug, Clone)]
pub struct ConnectErrorInfo {
    /// The error's message (Node's `err.message`).
    pub message: String,
    /// The error's `data`, when the server sent some.
    pub data: Option<RawJson>,
}

impl ConnectErrorInfo {
    /// The `data` decoded as `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(self.data.as_ref()?.as_str()).ok()
    }
}

/// What a socket's handlers hear, in order.
pub(super) enum Job {
    Connect,
    ConnectError(ConnectErrorInfo),
    Disconnect(DisconnectReason),
    Event { payload: Payload, ack: Option<u64> },
}

/// A namespace's socket as the manager sees it. The socket module
/// implements it, so the manager routes to sockets without reaching up.
pub(super) trait SocketSink: Send + Sync + 'static {
    /// Its namespace.
    fn nsp(&self) -> &str;
    /// Whether it is connected.
    fn connected(&self) -> bool;
    /// Its auth function, if it has one.
    fn auth_provider(&self) -> Option<AuthProvider>;
    /// Connected with `Some(sid)`, disconnected with `None`.
    fn set_sid(&self, sid: Option<String>);
    /// Whether the last connect got the previous session back.
    fn set_recovered(&self, recovered: bool);
    /// Queues `job` for its handlers, starting their runner when idle.
    fn push_job(self: Arc<Self>, job: Job);
    /// For the socket module to get its own type back.
    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync>;
}

impl Machine for Client {
    type Output = Output;

    fn poll_next(&mut self) -> Next<Output> {
        match self.poll_output() {
            Output::Timeout(at) => Next::Timeout(at),
            output => Next::Output(output),
        }
    }
}

pub(super) struct ManagerInner {
    pub(super) runtime: Arc<dyn Runtime>,
    /// The core client on its host (one lock, one timer task).
    host: Host<Client>,
    /// Its TCP connections.
    conns: Conns<ManagerInner>,
    /// Why the last connection could not be opened (TCP or TLS), for the
    /// sockets' `connect_error`.
    last_io_error: Mutex<Option<String>>,
    /// Weak: the sockets own the manager, not the other way round, so
    /// dropping every handle closes the connection and ends the tasks.
    pub(super) sockets: Mutex<HashMap<String, Weak<dyn SocketSink>>>,
    pub(super) acks: Mutex<HashMap<(String, u64), async_channel::Sender<AckReply>>>,
    handlers: Mutex<Vec<ManagerHandler>>,
    jobs: JobQueue<ManagerEvent>,
    /// How long an auth function may take (the attempt's `timeout`).
    auth_bound: std::time::Duration,
}

/// What happens to the connection: socket.io-client's manager events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// The Engine.IO connection is open (`open`).
    Open,
    /// A connection attempt failed before it opened (`error`).
    Error(&'static str),
    /// The open connection was lost or closed (`close`).
    Close(DisconnectReason),
    /// A reconnection attempt starts, numbered from 1 (`reconnect_attempt`).
    ReconnectAttempt(u32),
    /// A reconnection attempt succeeded (`reconnect`).
    Reconnect(u32),
    /// Every allowed attempt failed (`reconnect_failed`).
    ReconnectFailed,
    /// The connection moved from long-polling to a WebSocket (the engine's
    /// `upgrade`).
    Upgrade,
}

type ManagerHandler = Arc<dyn Fn(ClientManager, ManagerEvent) -> BoxFuture<()> + Send + Sync>;

/// One connection to a server, shared by the sockets of its namespaces
/// (socket.io-client's `Manager`). Cloning shares it.
#[derive(Clone)]
pub struct ClientManager {
    pub(super) inner: Arc<ManagerInner>,
}

impl std::fmt::Debug for ClientManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientManager").finish_non_exhaustive()
    }
}

impl ClientManager {
    /// A manager for `host:port` on `runtime`; nothing is opened until a
    /// socket connects.
    pub fn new<R: Runtime + Connector>(
        runtime: R,
        config: CoreConfig,
        host: String,
        port: u16,
    ) -> Self {
        let dial = Dial {
            host,
            port,
            #[cfg(feature = "tls")]
            tls: None,
        };
        Self::start(runtime, config, dial)
    }

    pub(super) fn start<R: Runtime + Connector>(
        runtime: R,
        config: CoreConfig,
        dial: Dial,
    ) -> Self {
        let runtime = Arc::new(runtime);
        let conns = Conns::new(runtime.clone(), dial);
        let runtime = runtime as Arc<dyn Runtime>;
        let seed = random_seed(&*runtime);
        let auth_bound = config.timeout;
        let inner = Arc::new(ManagerInner {
            auth_bound,
            host: Host::new(runtime.clone(), Client::new(config, seed)),
            runtime,
            conns,
            last_io_error: Mutex::new(None),
            sockets: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
            handlers: Mutex::new(Vec::new()),
            jobs: JobQueue::default(),
        });
        start_timers(&inner);
        let manager = ClientManager { inner };
        let unix_secs = unix_secs(&*manager.inner.runtime);
        manager.process(|client, now| client.set_wall_clock(now, unix_secs));
        manager
    }

    /// Closes the connection and stops reconnecting; the sockets hear
    /// "forced close" (socket.io-client's `manager.disconnect()`).
    pub fn close(&self) {
        self.process(|client, now| client.close(now));
    }

    /// Calls `handler` for every [`ManagerEvent`], in order
    /// (`socket.io.on("reconnect", ..)` and the like).
    pub fn on_event<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientManager, ManagerEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.inner.handlers).push(Arc::new(move |m, e| Box::pin(handler(m, e))));
    }

    async fn run_jobs(self) {
        while let Some(event) = self.inner.jobs.next() {
            start_in_order(&*self.inner.runtime, self.futures_for(&event)).await;
        }
    }

    fn futures_for(&self, event: &ManagerEvent) -> Vec<BoxFuture<()>> {
        let handlers = lock(&self.inner.handlers).clone();
        handlers
            .iter()
            .map(|handler| handler(self.clone(), event.clone()))
            .collect()
    }

    /// The transport of the current connection (attempt), as the engine's
    /// `transport.name`.
    pub fn transport(&self) -> Option<Transport> {
        self.inner.host.read(Client::transport)
    }

    /// The Engine.IO session id while connected.
    pub fn engine_id(&self) -> Option<String> {
        self.inner
            .host
            .read(|client| client.engine_sid().map(str::to_owned))
    }

    pub(super) fn process<R>(&self, f: impl FnOnce(&mut Client, Instant) -> R) -> R {
        self.inner.process(f)
    }
}

impl ManagerInner {
    /// Feeds one input or command to the core and routes what it produced.
    pub(super) fn process<R>(self: &Arc<Self>, f: impl FnOnce(&mut Client, Instant) -> R) -> R {
        self.host.process(&mut Routes(self), f)
    }

    fn route(self: &Arc<Self>, client: &Client, output: Output) {
        match self.conns.route(self, output) {
            Some(ClientEvent::OpenError { message }) => self.open_failed(client, message),
            Some(event) => self.route_event(event),
            None => {}
        }
    }

    pub(super) fn socket(&self, nsp: &str) -> Option<Arc<dyn SocketSink>> {
        lock(&self.sockets).get(nsp)?.upgrade()
    }

    /// Queues a manager event for its handlers; starts their runner when idle.
    fn push_manager_event(self: &Arc<Self>, event: ManagerEvent) {
        if self.jobs.push(event) {
            let manager = ClientManager {
                inner: self.clone(),
            };
            self.runtime.spawn(Box::pin(manager.run_jobs()));
        }
    }

    /// An attempt failed before it opened: the manager's `error`, and
    /// `connect_error` on every socket still waiting to connect (as
    /// socket.io-client's sockets hear their manager's errors), with the
    /// I/O error (an untrusted certificate, a refused connection) as the
    /// `description` of its data. Reconnection goes on.
    fn open_failed(self: &Arc<Self>, client: &Client, message: &'static str) {
        let description = lock(&self.last_io_error).take();
        let data = description.and_then(|description| {
            let mut map = std::collections::BTreeMap::new();
            map.insert("description", description);
            auth_json(&map).ok()
        });
        let waiting: Vec<Arc<dyn SocketSink>> = lock(&self.sockets)
            .values()
            .filter_map(Weak::upgrade)
            .filter(|s| !s.connected() && client.is_active(s.nsp()))
            .collect();
        for socket in waiting {
            socket.push_job(Job::ConnectError(ConnectErrorInfo {
                message: message.to_owned(),
                data: data.clone(),
            }));
        }
        self.push_manager_event(ManagerEvent::Error(message));
    }

    fn route_event(self: &Arc<Self>, event: ClientEvent) {
        match event {
            ClientEvent::Connected {
                nsp,
                sid,
                recovered,
            } => {
                if let Some(s) = self.socket(&nsp) {
                    s.set_sid(Some(sid.to_string()));
                    s.set_recovered(recovered);
                    s.push_job(Job::Connect);
                }
            }
            ClientEvent::ConnectError { nsp, message, data } => {
                if let Some(s) = self.socket(&nsp) {
                    s.push_job(Job::ConnectError(ConnectErrorInfo { message, data }));
                }
            }
            ClientEvent::Disconnected { nsp, reason } => {
                if let Some(s) = self.socket(&nsp) {
                    s.set_sid(None);
                    s.push_job(Job::Disconnect(reason));
                }
            }
            ClientEvent::Event {
                nsp,
                data,
                attachments,
                ack,
            } => {
                if let Some(s) = self.socket(&nsp) {
                    s.push_job(Job::Event {
                        payload: Payload::new(data, attachments),
                        ack,
                    });
                }
            }
            ClientEvent::Ack {
                nsp,
                id,
                data,
                attachments,
            } => self.settle_ack(&nsp, id, Some(AckReply::Data { data, attachments })),
            ClientEvent::AckTimeout { nsp, id } => {
                self.settle_ack(&nsp, id, Some(AckReply::Timeout))
            }
            ClientEvent::AckCancelled { nsp, id } => self.settle_ack(&nsp, id, None),
            ClientEvent::AuthNeeded { nsp, request } => self.ask_auth(nsp.to_string(), request),
            ClientEvent::Open { .. } => self.push_manager_event(ManagerEvent::Open),
            ClientEvent::OpenError { message } => {
                self.push_manager_event(ManagerEvent::Error(message))
            }
            ClientEvent::Closed { reason } => self.push_manager_event(ManagerEvent::Close(reason)),
            ClientEvent::Reconnecting { attempt } => {
                self.push_manager_event(ManagerEvent::ReconnectAttempt(attempt))
            }
            ClientEvent::Reconnected { attempt } => {
                self.push_manager_event(ManagerEvent::Reconnect(attempt))
            }
            ClientEvent::ReconnectFailed => self.push_manager_event(ManagerEvent::ReconnectFailed),
            ClientEvent::Upgraded => self.push_manager_event(ManagerEvent::Upgrade),
            _ => {}
        }
    }

    /// Calls the auth function of `nsp`'s socket on a task of its own (it
    /// may await), and hands its answer to the core.
    fn ask_auth(self: &Arc<Self>, nsp: String, request: u64) {
        let Some(provider) = self.socket(&nsp).and_then(|s| s.auth_provider()) else {
            return;
        };
        let inner = self.clone();
        self.runtime.spawn(Box::pin(async move {
            let auth = provider.call(&*inner.runtime, inner.auth_bound).await;
            if let Err(error) = &auth {
                tracing::debug!(nsp = %nsp, %error, "client auth function failed");
            }
            let _ = inner.process(|client, now| client.provide_auth(now, &nsp, request, auth));
        }));
    }

    /// Answers one waiter; `None` drops it ("disconnected").
    fn settle_ack(&self, nsp: &str, id: u64, reply: Option<AckReply>) {
        let waiter = lock(&self.acks).remove(&(nsp.to_owned(), id));
        if let (Some(tx), Some(reply)) = (waiter, reply) {
            let _ = tx.try_send(reply);
        }
    }
}

/// One drain of the client's outputs.
struct Routes<'a>(&'a Arc<ManagerInner>);

impl Router<Client> for Routes<'_> {
    fn route(&mut self, client: &Client, output: Output) {
        self.0.route(client, output);
    }
}

impl Hosted for ManagerInner {
    type Machine = Client;

    fn host(&self, _shard: usize) -> &Host<Client> {
        &self.host
    }

    fn on_timeout(self: &Arc<Self>, _shard: usize) {
        self.process(|client, now| client.handle_timeout(now));
    }
}

impl PumpSink for ManagerInner {
    fn connected(self: &Arc<Self>, conn: ConnId) {
        self.process(|client, now| client.handle_connected(now, conn));
    }

    fn data(self: &Arc<Self>, conn: ConnId, data: &[u8]) {
        self.process(|client, now| client.handle_data(now, conn, data));
    }

    fn closed(self: &Arc<Self>, conn: ConnId, error: Option<String>) {
        let failed = error.is_some();
        if failed {
            // Read by the `OpenError` this close may bring, right now;
            // never left for a later, unrelated one.
            *lock(&self.last_io_error) = error;
        }
        self.conns.forget(conn);
        self.process(|client, now| client.handle_closed(now, conn));
        if failed {
            lock(&self.last_io_error).take();
        }
    }
}
