//! An Engine.IO endpoint on a [`Host`]: what the connection code
//! (`conn`) needs of a server, whichever layer runs on top (Socket.IO's
//! `Server` or the bare `EngineServer`): the connection table its I/O
//! outputs are routed through, the deferred write reports, the HTTP limits
//! and the shutdown flag.
//!
//! Floor: above `host` and `outbox`, below `conn` and every handle module.
//! A layer plugs in through [`Layer`]: it routes its machine's events and
//! runs the handlers they made ready.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Context;

// Keyed by our own ids, looked up for every output: foldhash (hashbrown's
// default) instead of std's SipHash.
use hashbrown::HashMap;

use crate::clock::Clock;
use crate::hooks::Hooks;
use crate::host::{Host, Machine, Next, Router};
use crate::outbox::{OutboxReceiver, OutboxSender};
use crate::runtime::Runtime;
use crate::sync::lock;
use sio_core::engine::{shard_of_number, shard_of_sid, ConnId, EngineEvent, EngineServer, Io};
use sio_core::server::{Event, Output, Server};
use sio_core::time::Instant;
use sio_core::wire::http::{Limits, Request, Timeouts};

/// An output of a server machine: for a connection, or for the layer.
pub(crate) enum ServerOutput<E> {
    Io(Io),
    Event(E),
}

/// A server machine: Engine.IO connections in, [`ServerOutput`]s out.
pub(crate) trait ServerMachine: Machine<Output = ServerOutput<Self::Event>> {
    type Event;
    fn matches(&self, req: &Request) -> bool;
    fn handle_request_from(
        &mut self,
        now: Instant,
        conn: ConnId,
        req: Request,
        peer: Option<std::net::SocketAddr>,
    );
    fn handle_request_too_large(&mut self, now: Instant, conn: ConnId, req: Request);
    fn is_checked_handshake(&self, req: &Request) -> bool;
    fn forbid(&mut self, now: Instant, conn: ConnId, req: &Request, message: Option<&str>);
    fn handle_ws_data(&mut self, now: Instant, conn: ConnId, data: &[u8]);
    fn handle_flushed(&mut self, now: Instant, conn: ConnId);
    fn handle_written(&mut self, now: Instant, conn: ConnId, frames: usize, bytes: usize);
    fn handle_conn_closed(&mut self, now: Instant, conn: ConnId);
}

/// Both server machines forward the same inputs to their Engine.IO part.
macro_rules! server_machine {
    ($machine:ty, $event:ty, $output:ident) => {
        impl Machine for $machine {
            type Output = ServerOutput<$event>;
            fn poll_next(&mut self) -> Next<Self::Output> {
                loop {
                    match self.poll_output() {
                        $output::Io(io) => return Next::Output(ServerOutput::Io(io)),
                        $output::Event(e) => return Next::Output(ServerOutput::Event(e)),
                        $output::Timeout(at) => return Next::Timeout(at),
                        // Outputs this driver has no use for.
                        _ => {}
                    }
                }
            }
        }

        impl ServerMachine for $machine {
            type Event = $event;
            fn matches(&self, req: &Request) -> bool {
                <$machine>::matches(self, req)
            }
            fn handle_request_from(
                &mut self,
                now: Instant,
                conn: ConnId,
                req: Request,
                peer: Option<std::net::SocketAddr>,
            ) {
                <$machine>::handle_request_from(self, now, conn, req, peer)
            }
            fn handle_request_too_large(&mut self, now: Instant, conn: ConnId, req: Request) {
                <$machine>::handle_request_too_large(self, now, conn, req)
            }
            fn is_checked_handshake(&self, req: &Request) -> bool {
                <$machine>::is_checked_handshake(self, req)
            }
            fn forbid(&mut self, now: Instant, conn: ConnId, req: &Request, message: Option<&str>) {
                <$machine>::forbid(self, now, conn, req, message)
            }
            fn handle_ws_data(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
                <$machine>::handle_ws_data(self, now, conn, data)
            }
            fn handle_flushed(&mut self, now: Instant, conn: ConnId) {
                <$machine>::handle_flushed(self, now, conn)
            }
            fn handle_written(&mut self, now: Instant, conn: ConnId, frames: usize, bytes: usize) {
                <$machine>::handle_written(self, now, conn, frames, bytes)
            }
            fn handle_conn_closed(&mut self, now: Instant, conn: ConnId) {
                <$machine>::handle_conn_closed(self, now, conn)
            }
        }
    };
}

use sio_core::engine::Output as EngineOutput;
server_machine!(Server, Event, Output);
server_machine!(EngineServer, EngineEvent, EngineOutput);

/// A connection's write progress, not yet told the machine.
struct Written {
    conn: ConnId,
    frames: usize,
    bytes: usize,
}

std::thread_local! {
    /// The list reports are swapped into (kept for its allocation).
    static SPARE_WRITTEN: std::cell::Cell<Vec<Written>> = const { std::cell::Cell::new(Vec::new()) };
}

/// One shard of an endpoint: a machine on its host, with what the
/// connections of its sessions share.
pub(crate) struct ShardHost<M> {
    pub(crate) host: Host<M>,
    /// What WebSockets wrote since they last told the machine (one report
    /// per poll of a connection's task, not per frame); applied at the
    /// start of the next input. The machine reads what this reports (a
    /// link's backlog) only while handling an input, so the deferred
    /// report changes nothing it decides, and a broadcast's recipients do
    /// not take the host's lock and drain it once each. Bounded: a
    /// connection writes only what an input gave it, and reports of the
    /// same connection in a row are merged.
    written: Mutex<Vec<Written>>,
    /// Where each connection's outputs go. Looked up once per output (a
    /// broadcast's every recipient).
    conns: Mutex<HashMap<ConnId, OutboxSender>>,
}

impl<M: ServerMachine> ShardHost<M> {
    fn apply_written(&self, machine: &mut M, now: Instant) {
        // One lock per input, as when the list lived under the state lock:
        // the reports are swapped with the thread's spare list.
        let mut taken = SPARE_WRITTEN.take();
        core::mem::swap(&mut *lock(&self.written), &mut taken);
        for w in taken.drain(..) {
            machine.handle_written(now, w.conn, w.frames, w.bytes);
        }
        SPARE_WRITTEN.set(taken);
    }
}

/// A server's shards (machines each behind their own lock, so inputs of
/// sessions in different shards proceed in parallel) with what all its
/// connections share: limits, hooks, the shutdown flag. A connection
/// belongs to one shard, the one of the session its request is for; its
/// id names it (ids are congruent to the shard index, as the core's
/// session, socket and request numbers are).
pub(crate) struct Endpoint<M> {
    shards: Box<[ShardHost<M>]>,
    next_conn: AtomicU64,
    /// The shard the next new session goes to (round robin).
    next_shard: AtomicUsize,
    pub(crate) http_limits: Limits,
    /// The deadlines of a standalone server's HTTP connections.
    pub(crate) http_timeouts: Timeouts,
    shutting_down: AtomicBool,
    /// The application's engine hooks (`allow_request`, headers, errors).
    pub(crate) hooks: Hooks,
}

impl<M: ServerMachine> Endpoint<M> {
    /// An endpoint over `machines`, one per shard (at least one), each
    /// already told its shard.
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        machines: Vec<M>,
        config: &sio_core::engine::Config,
    ) -> Self {
        assert!(!machines.is_empty(), "an endpoint has at least one shard");
        let clock = Clock::new(runtime.clone());
        let shards = machines
            .into_iter()
            .map(|machine| ShardHost {
                host: Host::with_clock(clock.clone(), runtime.clone(), machine),
                written: Mutex::new(Vec::new()),
                conns: Mutex::new(HashMap::new()),
            })
            .collect();
        Endpoint {
            shards,
            next_conn: AtomicU64::new(1),
            next_shard: AtomicUsize::new(0),
            http_limits: Limits {
                max_body_bytes: config.max_http_buffer_size,
                ..Limits::default()
            },
            http_timeouts: Timeouts {
                headers: config.headers_timeout,
                body: config.body_timeout,
                keep_alive: config.keep_alive_timeout,
                write: config.close_timeout,
            },
            shutting_down: AtomicBool::new(false),
            hooks: Hooks::default(),
        }
    }

    /// How many shards it runs.
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Shard `shard` (an index below [`Endpoint::shard_count`]).
    pub(crate) fn shard(&self, shard: usize) -> &ShardHost<M> {
        &self.shards[shard % self.shards.len()]
    }

    /// The first shard's host: the runtime and clock every shard shares.
    pub(crate) fn host(&self) -> &Host<M> {
        &self.shards[0].host
    }

    /// The shard a request goes to: its session's, named by its `sid`; a
    /// handshake (no `sid`) opens its session in the next shard in turn.
    pub(crate) fn shard_for(&self, request: &Request) -> usize {
        let count = self.shards.len();
        if count == 1 {
            return 0;
        }
        match request.query_param("sid").filter(|sid| !sid.is_empty()) {
            Some(sid) => shard_of_sid(&sid, count),
            None => self.next_shard.fetch_add(1, Ordering::Relaxed) % count,
        }
    }

    /// The shard of connection `conn`.
    pub(crate) fn shard_of_conn(&self, conn: ConnId) -> usize {
        shard_of_number(conn.0, self.shards.len())
    }

    /// Tells the machine, at its next input, that WebSocket `conn` wrote
    /// `frames` more of its transmits, `bytes` bytes in all.
    pub(crate) fn report_written(&self, conn: ConnId, frames: usize, bytes: usize) {
        let mut written = lock(&self.shard(self.shard_of_conn(conn)).written);
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

    /// A fresh connection id in `shard`, with the outbox its outputs
    /// arrive in.
    pub(crate) fn open_conn(&self, shard: usize) -> (ConnId, OutboxReceiver) {
        let count = self.shards.len() as u64;
        let shard = shard % self.shards.len();
        let n = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let id = ConnId(n * count + shard as u64);
        let (tx, rx) = crate::outbox::outbox();
        lock(&self.shards[shard].conns).insert(id, tx);
        (id, rx)
    }

    /// How many connections are registered.
    pub(crate) fn open_conn_count(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.conns).len()).sum()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            shard.host.wake_timer();
        }
    }

    /// Reads shard `shard`'s machine under its lock.
    pub(crate) fn read_on<T>(&self, shard: usize, f: impl FnOnce(&M) -> T) -> T {
        self.shard(shard).host.read(f)
    }

    /// Reads the first shard's machine (what every shard has alike: the
    /// config, the path).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&M) -> T) -> T {
        self.read_on(0, f)
    }

    /// Folds `f` over every shard's machine, each read under its own lock
    /// (one at a time).
    pub(crate) fn read_all<T>(&self, mut f: impl FnMut(&M) -> T) -> Vec<T> {
        self.shards.iter().map(|s| s.host.read(&mut f)).collect()
    }
}

/// A layer on an endpoint (Socket.IO or the bare Engine.IO API): routes
/// its machine's events and runs the handlers they make ready.
pub(crate) trait Layer: Send + Sync + Sized + 'static {
    type Machine: ServerMachine;
    /// Handlers an event made ready, run after the lock is released.
    type Ready: Send + 'static;

    fn endpoint(&self) -> &Endpoint<Self::Machine>;

    /// Routes one event, under the host's lock: no user code, no input.
    fn route_event(
        self: &Arc<Self>,
        machine: &Self::Machine,
        event: <Self::Machine as ServerMachine>::Event,
        ready: &mut Vec<Self::Ready>,
    );

    /// A drain is over, under the host's lock (metrics read the machine's
    /// totals here).
    fn drained(&self, _machine: &Self::Machine) {}

    /// Runs ready handlers within the caller's poll (a reader's task).
    fn run_now(ready: Self::Ready, cx: &mut Context<'_>);

    /// Runs ready handlers on a task of their own.
    fn spawn_ready(ready: Self::Ready);

    /// The thread's list for ready handlers, taken while in use so no
    /// connection keeps one between polls.
    fn take_ready_list() -> Vec<Self::Ready>;
    fn put_ready_list(list: Vec<Self::Ready>);

    /// Feeds one input and routes what it produced; the handlers it made
    /// ready go to `ready` for the caller to run once the lock is released
    /// (a connection's reader runs them itself, with no task hop).
    fn process_into<T>(
        self: &Arc<Self>,
        shard: usize,
        ready: &mut Vec<Self::Ready>,
        f: impl FnOnce(&mut Self::Machine, Instant) -> T,
    ) -> T {
        let shard = self.endpoint().shard(shard);
        let mut routes = Routes {
            layer: self,
            shard,
            conns: None,
            ready,
        };
        shard.host.process(&mut routes, f)
    }

    /// [`Layer::process_into`] on shard `shard`, with the handlers run on
    /// tasks of their own.
    fn process_on<T>(
        self: &Arc<Self>,
        shard: usize,
        f: impl FnOnce(&mut Self::Machine, Instant) -> T,
    ) -> T {
        let mut ready = Vec::new();
        let result = self.process_into(shard, &mut ready, f);
        for ready in ready {
            Self::spawn_ready(ready);
        }
        result
    }

    /// [`Layer::process_on`] for connection `conn`'s shard.
    fn process_conn<T>(
        self: &Arc<Self>,
        conn: ConnId,
        f: impl FnOnce(&mut Self::Machine, Instant) -> T,
    ) -> T {
        self.process_on(self.endpoint().shard_of_conn(conn), f)
    }

    /// [`Layer::process_on`] on every shard in turn (one lock at a time):
    /// what concerns every session (a broadcast, a namespace added).
    fn process_all<T>(
        self: &Arc<Self>,
        mut f: impl FnMut(&mut Self::Machine, Instant) -> T,
    ) -> Vec<T> {
        (0..self.endpoint().shard_count())
            .map(|shard| self.process_on(shard, &mut f))
            .collect()
    }

    /// Forgets `conn` and tells the machine it is gone.
    fn close_conn(self: &Arc<Self>, conn: ConnId) {
        let shard = self.endpoint().shard_of_conn(conn);
        lock(&self.endpoint().shard(shard).conns).remove(&conn);
        self.process_on(shard, |machine, now| machine.handle_conn_closed(now, conn));
    }
}

/// One drain of a layer's endpoint.
struct Routes<'a, L: Layer> {
    layer: &'a Arc<L>,
    /// The shard being drained.
    shard: &'a ShardHost<L::Machine>,
    /// Held across a run of I/O outputs (a broadcast's recipients), let go
    /// before an event is routed (routing one may open a connection).
    conns: Option<MutexGuard<'a, HashMap<ConnId, OutboxSender>>>,
    ready: &'a mut Vec<L::Ready>,
}

impl<'a, L: Layer> Router<L::Machine> for Routes<'a, L> {
    fn before_input(&mut self, machine: &mut L::Machine, now: Instant) {
        self.shard.apply_written(machine, now);
    }

    fn route(
        &mut self,
        machine: &L::Machine,
        output: ServerOutput<<L::Machine as ServerMachine>::Event>,
    ) {
        match output {
            ServerOutput::Io(io) => {
                let shard: &'a ShardHost<L::Machine> = self.shard;
                let conns = self.conns.get_or_insert_with(|| lock(&shard.conns));
                if let Some(tx) = conns.get(&io.conn()) {
                    // Unbounded: the core bounds what it queues per session.
                    let _ = tx.try_send(io);
                }
            }
            ServerOutput::Event(event) => {
                self.conns = None;
                self.layer.route_event(machine, event, self.ready);
            }
        }
    }

    fn drained(&mut self, machine: &L::Machine) {
        self.conns = None;
        self.layer.drained(machine);
    }
}
