//! The state every handle shares: the core [`Server`] behind one lock, the
//! drain loop that routes its outputs, the connection registry and the
//! pending acks.
//!
//! Locking rule: the state lock is held while an input is handled and its
//! outputs are routed, so bytes and events leave in the order the core
//! produced them. Routing never runs user code and never takes the state
//! lock again: it only sends on channels, updates maps and spawns tasks.
//! Locks are taken in one order: the state, then the connection table,
//! then an outbox.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::sync::lock;

use async_channel::Sender;
use event_listener::Event as Notify;
// Keyed by our own ids, looked up for every input and output: foldhash
// (hashbrown's default) instead of std's SipHash.
use hashbrown::HashMap;

use super::ack::AckReply;
use super::cluster::Cluster;
use super::handshake::Handshake;
use super::namespace::Registry;
use super::outbox::{OutboxReceiver, OutboxSender};
use super::runtime::Runtime;
use super::socket::{Job, Ready, Socket};
use crate::clock::Clock;
use sio_core::engine::{ConnId, Io};
use sio_core::server::{DisconnectReason, Event, Output, Server, SocketId};
use sio_core::time::Instant;

/// A connection's write progress, not yet told the core.
struct Written {
    conn: ConnId,
    frames: usize,
    bytes: usize,
}

struct State {
    server: Server,
    deadline: Option<Instant>,
    /// The reports taken from [`Shared::written`] (kept for its allocation).
    written: Vec<Written>,
}

/// Shared by every handle of one server.
pub(crate) struct Shared {
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) clock: Clock,
    state: Mutex<State>,
    /// Raised whenever the core's next deadline changes.
    deadline_changed: Notify,
    /// What WebSockets wrote since they last told the core (one report per
    /// poll of a connection's task, not per frame); applied at the start
    /// of the next input. The core reads what this reports (a link's
    /// backlog) only while handling an input, so the deferred report
    /// changes nothing it decides, and a broadcast's recipients do not take
    /// the state lock and drain the core once each. Bounded: a connection
    /// writes only what an input gave it, and reports of the same
    /// connection in a row are merged.
    written: Mutex<Vec<Written>>,
    /// Where each connection's outputs go. Looked up once per output (a
    /// broadcast's every recipient).
    conns: Mutex<HashMap<ConnId, OutboxSender>>,
    next_conn: AtomicU64,
    /// Sockets known to the application, by core id.
    sockets: Mutex<HashMap<SocketId, Socket>>,
    /// Senders waiting for acks, per socket then ack id.
    acks: Mutex<HashMap<SocketId, HashMap<u64, Sender<AckReply>>>>,
    pub(crate) registry: Registry,
    pub(crate) http_limits: sio_core::wire::http::Limits,
    /// The deadlines of a standalone server's HTTP connections.
    pub(crate) http_timeouts: sio_core::wire::http::Timeouts,
    shutting_down: AtomicBool,
    /// The cluster this server joined, if an adapter is attached.
    pub(crate) cluster: OnceLock<Arc<Cluster>>,
}

impl Shared {
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        server: Server,
        http_limits: sio_core::wire::http::Limits,
        http_timeouts: sio_core::wire::http::Timeouts,
    ) -> Arc<Self> {
        let shared = Arc::new(Shared {
            clock: Clock::new(runtime.clone()),
            runtime,
            state: Mutex::new(State {
                server,
                deadline: None,
                written: Vec::new(),
            }),
            written: Mutex::new(Vec::new()),
            deadline_changed: Notify::new(),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            sockets: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
            registry: Registry::default(),
            http_limits,
            http_timeouts,
            shutting_down: AtomicBool::new(false),
            cluster: OnceLock::new(),
        });
        let timers = Arc::downgrade(&shared);
        shared.runtime.spawn(Box::pin(timer_loop(timers)));
        shared
    }

    /// Feeds one input (or command) to the core and routes everything it
    /// produced. `f` gets the server and the current time. Handlers it
    /// woke run on tasks of their own.
    pub(crate) fn process<R>(self: &Arc<Self>, f: impl FnOnce(&mut Server, Instant) -> R) -> R {
        let mut ready = Vec::new();
        let result = self.process_into(&mut ready, f);
        for ready in ready {
            ready.spawn();
        }
        result
    }

    /// Like [`Shared::process`], but the sockets whose handlers must start
    /// are appended to `ready` for the caller to run (after the lock is
    /// released: a connection's reader runs them itself, with no task hop).
    pub(crate) fn process_into<R>(
        self: &Arc<Self>,
        ready: &mut Vec<Ready>,
        f: impl FnOnce(&mut Server, Instant) -> R,
    ) -> R {
        let mut state = lock(&self.state);
        let now = self.clock.now();
        self.apply_written(&mut state, now);
        let result = f(&mut state.server, now);
        self.drain(&mut state, ready);
        result
    }

    /// Tells the core, at its next input, that WebSocket `conn` wrote
    /// `frames` more of its transmits, `bytes` bytes in all.
    pub(crate) fn report_written(&self, conn: ConnId, frames: usize, bytes: usize) {
        let mut written = lock(&self.written);
        match written.last_mut() {
            Some(last) if last.conn == conn => {
                last.frames = last.frames.saturating_add(frames);
                last.bytes = last.bytes.saturating_add(bytes);
            }
            _ => written.push(Written {
                conn,
                frames,
                bytes,
            }),
        }
    }

    fn apply_written(&self, state: &mut State, now: Instant) {
        core::mem::swap(&mut *lock(&self.written), &mut state.written);
        for w in state.written.drain(..) {
            state.server.handle_written(now, w.conn, w.frames, w.bytes);
        }
    }

    /// Reads the server under the lock: no input, nothing to route.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Server) -> R) -> R {
        let state = lock(&self.state);
        f(&state.server)
    }

    fn drain(self: &Arc<Self>, state: &mut State, ready: &mut Vec<Ready>) {
        // Held across a run of outputs (a broadcast's recipients), let go
        // before an event is routed (routing one may open a connection).
        let mut conns = None;
        loop {
            match state.server.poll_output() {
                Output::Io(io) => {
                    let conns = conns.get_or_insert_with(|| lock(&self.conns));
                    route_io(conns, io);
                }
                Output::Event(event) => {
                    conns = None;
                    self.route_event(&state.server, event, ready);
                }
                Output::Timeout(deadline) => {
                    drop(conns);
                    if state.deadline != deadline {
                        state.deadline = deadline;
                        self.deadline_changed.notify(usize::MAX);
                    }
                    return;
                }
                _ => {}
            }
        }
    }

    fn route_event(self: &Arc<Self>, server: &Server, event: Event, ready: &mut Vec<Ready>) {
        match event {
            Event::ConnectRequest {
                request,
                session,
                nsp,
                auth,
                dynamic,
            } => {
                let handshake = server
                    .engine()
                    .handshake(session)
                    .map(|info| Handshake::new(info, auth.clone(), &self.clock));
                // No handshake: the session closed under the request; the core drops it.
                if let Some(handshake) = handshake {
                    super::namespace::start_connect(self, request, nsp, handshake, dynamic);
                }
            }
            Event::Connected { socket, .. } => {
                if let Some(s) = lock(&self.sockets).get(&socket) {
                    tracing::debug!(socket = s.id(), nsp = s.ns(), "socket connected");
                    s.push_job(Job::Connect, ready);
                }
            }
            Event::Event {
                socket,
                data,
                attachments,
                ack,
            } => {
                if let Some(s) = lock(&self.sockets).get(&socket) {
                    s.push_job(
                        Job::Event {
                            data,
                            attachments,
                            ack,
                        },
                        ready,
                    );
                }
            }
            Event::Ack {
                socket,
                id,
                data,
                attachments,
            } => self.settle_ack(socket, id, AckReply::Data { data, attachments }),
            Event::AckTimeout { socket, id } => self.settle_ack(socket, id, AckReply::Timeout),
            Event::Disconnect {
                socket,
                reason,
                rooms,
                ..
            } => {
                // Dropping the senders tells every waiter the socket is gone.
                lock(&self.acks).remove(&socket);
                if let Some(s) = lock(&self.sockets).remove(&socket) {
                    if matches!(
                        reason,
                        DisconnectReason::ParseError | DisconnectReason::TransportError
                    ) {
                        // The peer broke the protocol (or its transport failed).
                        tracing::info!(
                            socket = s.id(),
                            nsp = s.ns(),
                            reason = reason.as_str(),
                            "socket disconnected by a protocol error"
                        );
                    } else {
                        tracing::debug!(
                            socket = s.id(),
                            nsp = s.ns(),
                            reason = reason.as_str(),
                            "socket disconnected"
                        );
                    }
                    s.mark_disconnected();
                    s.push_job(
                        Job::Disconnect(reason, rooms.iter().map(|r| r.to_string()).collect()),
                        ready,
                    );
                }
            }
            _ => {}
        }
    }

    fn settle_ack(&self, socket: SocketId, id: u64, reply: AckReply) {
        let mut acks = lock(&self.acks);
        if let Some(waiting) = acks.get_mut(&socket) {
            if let Some(tx) = waiting.remove(&id) {
                let _ = tx.try_send(reply);
            }
            if waiting.is_empty() {
                acks.remove(&socket);
            }
        }
    }

    /// Registers a waiter for ack `id` of `socket`. Call it inside the
    /// [`Shared::process`] closure that emitted, before outputs are routed.
    pub(crate) fn expect_ack(&self, socket: SocketId, id: u64, tx: Sender<AckReply>) {
        lock(&self.acks).entry(socket).or_default().insert(id, tx);
    }

    /// Makes `socket` known before its `Connected` event is routed.
    pub(crate) fn insert_socket(&self, socket: Socket) {
        lock(&self.sockets).insert(socket.core_id(), socket);
    }

    /// The application's handle of a core socket, if it is still connected.
    pub(crate) fn socket(&self, id: SocketId) -> Option<Socket> {
        lock(&self.sockets).get(&id).cloned()
    }

    /// A fresh connection id with the channel its outputs arrive on.
    pub(crate) fn open_conn(&self) -> (ConnId, OutboxReceiver) {
        let id = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = super::outbox::outbox();
        lock(&self.conns).insert(id, tx);
        (id, rx)
    }

    /// Forgets `conn` and tells the core it is gone.
    pub(crate) fn close_conn(self: &Arc<Self>, conn: ConnId) {
        lock(&self.conns).remove(&conn);
        self.process(|server, now| server.handle_conn_closed(now, conn));
    }

    /// How many connections are registered.
    pub(crate) fn open_conn_count(&self) -> usize {
        lock(&self.conns).len()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        self.deadline_changed.notify(usize::MAX);
    }

    /// The cluster, when an adapter is attached.
    pub(crate) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.get()
    }

    /// Spawns a future on the runtime.
    pub(crate) fn spawn(&self, future: impl core::future::Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(Box::pin(future));
    }
}

/// Hands `io` to its connection's outbox.
fn route_io(conns: &HashMap<ConnId, OutboxSender>, io: Io) {
    if let Some(tx) = conns.get(&io.conn()) {
        // Unbounded: the core bounds what it queues per session.
        let _ = tx.try_send(io);
    }
}

/// Sleeps until the core's next deadline (or until it changes) and calls
/// `handle_timeout`. One task for the whole server: no timer per socket.
async fn timer_loop(shared: std::sync::Weak<Shared>) {
    // One timer, moved to each new deadline.
    let mut timer: Option<Box<dyn super::runtime::Timer>> = None;
    loop {
        let Some(s) = shared.upgrade() else { return };
        if s.is_shutting_down() && lock(&s.sockets).is_empty() && lock(&s.conns).is_empty() {
            return;
        }
        // Listen first, then read the deadline: a change in between still wakes us.
        let changed = s.deadline_changed.listen();
        let deadline = lock(&s.state).deadline;
        let armed = deadline.map(|at| {
            let at = s.clock.to_std(at);
            match timer.take() {
                Some(mut timer) => {
                    timer.reset(at);
                    timer
                }
                None => s.runtime.timer(at),
            }
        });
        drop(s);
        match armed {
            None => changed.await,
            Some(mut armed) => {
                futures_lite::future::or(super::runtime::fired(&mut *armed), changed).await;
                timer = Some(armed);
            }
        }
        let Some(s) = shared.upgrade() else { return };
        let due = lock(&s.state)
            .deadline
            .is_some_and(|at| at <= s.clock.now());
        if due {
            s.process(|server, now| server.handle_timeout(now));
        }
    }
}
