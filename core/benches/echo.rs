//! Echo inputs of many WebSocket sessions fed from 1 and from 2 threads: a
//! masked client frame `421["echo","hi"]` in, the server's ack frame out.
//! No sockets: the measured work is the core's, held the way the driver
//! holds it.
//!
//! Run with `cargo bench -p sio-core --bench echo`. Before criterion runs,
//! it prints for each layout the 2-thread/1-thread throughput ratio, the
//! share of the threads' time spent holding a lock that every session
//! shares (time between taking and releasing it, over each thread's
//! elapsed time, both summed over threads; both are wall time, so a
//! preemption counts on both sides alike), and how long the threads
//! waited for a CPU that other processes held (Linux schedstat): on a
//! loaded machine the ratio means little, the uncontended share does.
//!
//! Layouts (`shard_groups` is the one the driver runs by default):
//! - `one_lock`: the whole [`Server`] behind one mutex, as the driver holds
//!   it (`driver/src/shared.rs`): per echo, one critical section feeds the
//!   frame and routes its event (the connection's reader), a second one
//!   sends the ack and routes its transmit (the handler's reply).
//! - `shard_per_thread`: each thread owns a server of its own, nothing
//!   shared: what this machine's two cores give when no state is shared,
//!   the ceiling any split can reach here (other engineers' builds share
//!   these cores, so the ratio of this row calibrates the others).
//! - `shards`: [`SHARDS`] servers (each `set_shard(i, SHARDS)`) behind a
//!   mutex each, session `k` in shard `k % SHARDS`, so each thread's
//!   sessions interleave across every shard (as a work-stealing runtime
//!   spreads connections that run as tasks of their own: WebSockets
//!   mounted through the tower layer); each critical section locks its
//!   session's shard only. No lock is shared by all sessions; the row
//!   reports the time under the shard locks and how often a shard lock
//!   was found taken (`try_lock` first).
//! - `shard_groups`: the same shards fed as the driver's connection groups
//!   feed them (each shard's WebSockets in one group, a task one worker
//!   polls at a time): each thread owns its shards.

use std::sync::{Barrier, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant as StdInstant};

use bytestring::ByteString;
use criterion::{BenchmarkId, Criterion, Throughput};
use sio_core::engine::{ConnId, Io, Shard};
use sio_core::packet::RawJson;
use sio_core::server::{Config, Event, Output, Server, SocketId};
use sio_core::Instant;

mod common;
use common::{client_text_frame, ws_handshake};

/// Sessions in every layout, split evenly between the threads.
const SESSIONS: usize = 1_000;
/// Servers in the `shards` and `shard_groups` layouts (the driver's
/// default is 16 per CPU, at most 64).
const SHARDS: usize = 8;
/// Time never moves in this bench: no ping, connect or ack deadline fires.
const NOW: Instant = Instant::from_millis(1_000);

fn config() -> Config {
    let mut config = Config::default();
    config.engine.ping_interval = Duration::from_secs(1_000_000);
    config.engine.ping_timeout = Duration::from_secs(1_000_000);
    config
}

/// Drains `server`: the bytes it transmitted and the events it raised
/// (an echo makes no other output; a handshake's 101 is skipped).
fn drain(server: &mut Server, events: &mut Vec<Event>) -> usize {
    let mut bytes = 0;
    loop {
        match server.poll_output() {
            Output::Io(Io::Transmit { data, .. }) => bytes += data.len(),
            Output::Io(Io::Upgrade { .. }) => {}
            Output::Io(other) => panic!("unexpected {other:?}"),
            Output::Event(event) => events.push(event),
            Output::Timeout(_) => return bytes,
            _ => {}
        }
    }
}

/// A server with `sessions` WebSocket sessions, each with a socket on `/`;
/// the connection ids are `first..first + sessions`.
fn server_with(first: u64, sessions: usize) -> (Server, Vec<ConnId>) {
    sharded_server_with(Shard::ONE, first, sessions)
}

/// [`server_with`] for shard `shard` of a process.
fn sharded_server_with(shard: Shard, first: u64, sessions: usize) -> (Server, Vec<ConnId>) {
    let mut server = Server::new(config(), [7 + shard.index() as u8; 32]);
    server.set_shard(shard);
    let connect = client_text_frame("40");
    let mut events = Vec::new();
    let conns: Vec<ConnId> = (0..sessions).map(|i| ConnId(first + i as u64)).collect();
    for &conn in &conns {
        server.handle_request(NOW, conn, ws_handshake());
        drain(&mut server, &mut events);
        server.handle_ws_data(NOW, conn, &connect);
        drain(&mut server, &mut events);
        let request = match events.pop() {
            Some(Event::ConnectRequest { request, .. }) => request,
            other => panic!("expected a connect request, got {other:?}"),
        };
        server.accept(NOW, request).expect("accept");
        drain(&mut server, &mut events);
        events.clear();
        server.handle_flushed(NOW, conn);
    }
    (server, conns)
}

/// What one thread brings to every echo: its own copies, so no reference
/// count or buffer is shared between threads by the bench itself.
struct Caller {
    frame: Vec<u8>,
    reply: RawJson,
    events: Vec<Event>,
    /// Time spent holding the layout's timed locks (when timed).
    held: Duration,
    /// Critical sections entered through [`Caller::lock`].
    sections: u64,
    /// Of those, how many found the lock taken.
    taken: u64,
}

impl Caller {
    fn new() -> Self {
        Caller {
            frame: client_text_frame(r#"421["echo","hi"]"#),
            reply: RawJson::parse(ByteString::from_static(r#"["hi"]"#)).expect("JSON"),
            events: Vec::new(),
            held: Duration::ZERO,
            sections: 0,
            taken: 0,
        }
    }

    /// Locks `server`, counting whether another thread held it.
    fn lock<'a>(&mut self, server: &'a Mutex<Server>) -> MutexGuard<'a, Server> {
        self.sections += 1;
        match server.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::WouldBlock) => {
                self.taken += 1;
                server.lock().expect("not poisoned")
            }
            Err(TryLockError::Poisoned(_)) => panic!("poisoned"),
        }
    }

    /// Runs `body` on `server` under its lock, timed when `TIMED`.
    fn locked<const TIMED: bool>(
        &mut self,
        server: &Mutex<Server>,
        body: &mut dyn FnMut(&mut Server, &mut Caller) -> usize,
    ) -> usize {
        let mut server = self.lock(server);
        let start = TIMED.then(StdInstant::now);
        let out = body(&mut server, self);
        if let Some(start) = start {
            self.held += start.elapsed();
        }
        out
    }

    /// The event the frame raised: its socket and ack id.
    fn take_event(&mut self) -> (SocketId, u64) {
        match self.events.pop() {
            Some(Event::Event {
                socket,
                ack: Some(id),
                ..
            }) => {
                debug_assert!(self.events.is_empty());
                (socket, id)
            }
            other => panic!("expected an event with an ack id, got {other:?}"),
        }
    }
}

/// One echo on `server`: the frame in, the ack out; the bytes it wrote.
/// `section` runs each of the driver's two critical sections.
fn echo_on(
    caller: &mut Caller,
    conn: ConnId,
    mut section: impl FnMut(&mut Caller, &mut dyn FnMut(&mut Server, &mut Caller) -> usize) -> usize,
) -> usize {
    // The reader: the previous ack's write report (applied at the next
    // input, as the driver does), the frame, its event routed.
    section(caller, &mut |server, caller| {
        server.handle_written(NOW, conn, 1, ACK_FRAME_LEN);
        server.handle_ws_data(NOW, conn, &caller.frame);
        drain(server, &mut caller.events)
    });
    let (socket, id) = caller.take_event();
    // The handler's reply.
    let written = section(caller, &mut |server, caller| {
        server
            .ack(NOW, socket, id, caller.reply.clone(), Vec::new())
            .expect("ack");
        drain(server, &mut caller.events)
    });
    debug_assert_eq!(written, ACK_FRAME_LEN);
    written
}

/// `431["hi"]` in an unmasked server text frame.
const ACK_FRAME_LEN: usize = 2 + 9;

/// How the sessions are held.
trait Layout: Sync {
    /// What the timed locks are, for the report.
    const TIMED_LOCKS: &'static str;
    /// Whether every session goes through that one lock (its time is
    /// then the serial fraction Amdahl's law reads).
    const SHARED_BY_ALL: bool;

    /// One echo of session `index`; `TIMED` adds the held time to `caller`.
    fn echo<const TIMED: bool>(&self, thread: usize, index: usize, caller: &mut Caller) -> usize;
}

/// Today's driver: one lock around the whole server.
struct OneLock {
    server: Mutex<Server>,
    conns: Vec<ConnId>,
}

impl OneLock {
    fn new() -> Self {
        let (server, conns) = server_with(1, SESSIONS);
        OneLock {
            server: Mutex::new(server),
            conns,
        }
    }
}

impl Layout for OneLock {
    const TIMED_LOCKS: &'static str = "the lock all sessions share";
    const SHARED_BY_ALL: bool = true;

    fn echo<const TIMED: bool>(&self, _thread: usize, index: usize, caller: &mut Caller) -> usize {
        echo_on(caller, self.conns[index], |caller, body| {
            caller.locked::<TIMED>(&self.server, body)
        })
    }
}

/// Nothing shared: one server per thread, each with its share of sessions.
struct ShardPerThread {
    shards: Vec<Mutex<Server>>,
    conns: Vec<ConnId>,
    per_shard: usize,
}

impl ShardPerThread {
    fn new(threads: usize) -> Self {
        let per_shard = SESSIONS / threads;
        let mut shards = Vec::new();
        let mut conns = Vec::new();
        for t in 0..threads {
            let (server, ids) = server_with(1 + (t * per_shard) as u64, per_shard);
            shards.push(Mutex::new(server));
            conns.extend(ids);
        }
        ShardPerThread {
            shards,
            conns,
            per_shard,
        }
    }
}

impl Layout for ShardPerThread {
    const TIMED_LOCKS: &'static str = "a lock all sessions share (none)";
    const SHARED_BY_ALL: bool = true;

    fn echo<const TIMED: bool>(&self, thread: usize, index: usize, caller: &mut Caller) -> usize {
        debug_assert_eq!(index / self.per_shard, thread);
        // This lock is the thread's own: never contended, never counted.
        echo_on(caller, self.conns[index], |caller, body| {
            body(
                &mut self.shards[thread].lock().expect("not poisoned"),
                caller,
            )
        })
    }
}

/// The sharded core: [`SHARDS`] servers, a lock each, the sessions dealt
/// over them (spread, or by thread: see the constructors).
struct Shards {
    shards: Vec<Mutex<Server>>,
    /// Session `k`: its shard and connection.
    routes: Vec<(usize, ConnId)>,
}

impl Shards {
    /// Session `k` in shard `k % SHARDS`: each thread's sessions spread
    /// over every shard.
    fn new() -> Self {
        Shards::dealt(|k| k % SHARDS)
    }

    /// The driver's sharded core as its connection groups feed it: each
    /// shard's WebSockets run in one group, a task that one worker polls
    /// at a time, so a shard's inputs come from one thread. Here each
    /// thread owns half the shards (at 2 threads, the first half of the
    /// sessions is dealt over the even shards, the second over the odd
    /// ones; at 1 thread one thread feeds them all).
    fn by_thread() -> Self {
        let half = SESSIONS / 2;
        Shards::dealt(|k| 2 * (k % (SHARDS / 2)) + k / half)
    }

    /// [`SHARDS`] servers, session `k` in shard `shard_of(k)`.
    fn dealt(shard_of: impl Fn(usize) -> usize) -> Self {
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); SHARDS];
        for k in 0..SESSIONS {
            members[shard_of(k)].push(k);
        }
        let mut shards = Vec::new();
        let mut routes = vec![(0, ConnId(0)); SESSIONS];
        let mut first = 1;
        for (i, sessions) in members.iter().enumerate() {
            let shard = Shard::new(i, SHARDS).expect("a shard");
            let (server, ids) = sharded_server_with(shard, first, sessions.len());
            first += sessions.len() as u64;
            for (&k, conn) in sessions.iter().zip(ids) {
                routes[k] = (i, conn);
            }
            shards.push(Mutex::new(server));
        }
        Shards { shards, routes }
    }
}

impl Layout for Shards {
    const TIMED_LOCKS: &'static str = "the shard locks (none is shared by all sessions)";
    const SHARED_BY_ALL: bool = false;

    fn echo<const TIMED: bool>(&self, _thread: usize, index: usize, caller: &mut Caller) -> usize {
        let (shard, conn) = self.routes[index];
        echo_on(caller, conn, |caller, body| {
            caller.locked::<TIMED>(&self.shards[shard], body)
        })
    }
}

/// What one run measured.
struct Run {
    /// The slowest thread's elapsed time: the run's wall time.
    wall: Duration,
    /// Every thread's elapsed time, summed.
    busy: Duration,
    /// Every thread's time on a CPU, summed.
    on_cpu: Duration,
    /// Every thread's time runnable but waiting for a CPU, summed.
    waiting: Duration,
    held: Duration,
    sections: u64,
    taken: u64,
}

/// The calling thread's time on a CPU and waiting for one, when the
/// kernel tells (Linux schedstat, in nanoseconds).
fn cpu_times() -> Option<(Duration, Duration)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    let on_cpu = fields.next()??;
    let waiting = fields.next()??;
    Some((Duration::from_nanos(on_cpu), Duration::from_nanos(waiting)))
}

/// One thread's figures.
struct ThreadRun {
    elapsed: Duration,
    on_cpu: Duration,
    waiting: Duration,
    held: Duration,
    sections: u64,
    taken: u64,
}

/// `rounds` echoes of every session, the sessions split evenly between
/// `threads` threads that start together.
fn run<L: Layout, const TIMED: bool>(layout: &L, threads: usize, rounds: u64) -> Run {
    let per_thread = SESSIONS / threads;
    let barrier = Barrier::new(threads);
    let results: Vec<ThreadRun> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut caller = Caller::new();
                    let sessions = t * per_thread..(t + 1) * per_thread;
                    barrier.wait();
                    let cpu_start = if TIMED { cpu_times() } else { None };
                    let start = StdInstant::now();
                    let mut written = 0;
                    for _ in 0..rounds {
                        for index in sessions.clone() {
                            written += layout.echo::<TIMED>(t, index, &mut caller);
                        }
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(written, per_thread * rounds as usize * ACK_FRAME_LEN);
                    let (on_cpu, waiting) = match (cpu_start, cpu_start.and(cpu_times())) {
                        (Some((cpu0, wait0)), Some((cpu1, wait1))) => (cpu1 - cpu0, wait1 - wait0),
                        _ => (elapsed, Duration::ZERO),
                    };
                    ThreadRun {
                        elapsed,
                        on_cpu,
                        waiting,
                        held: caller.held,
                        sections: caller.sections,
                        taken: caller.taken,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect()
    });
    Run {
        wall: results.iter().map(|r| r.elapsed).max().unwrap_or_default(),
        busy: results.iter().map(|r| r.elapsed).sum(),
        on_cpu: results.iter().map(|r| r.on_cpu).sum(),
        waiting: results.iter().map(|r| r.waiting).sum(),
        held: results.iter().map(|r| r.held).sum(),
        sections: results.iter().map(|r| r.sections).sum(),
        taken: results.iter().map(|r| r.taken).sum(),
    }
}

/// The 2-thread/1-thread throughput ratio of one layout, printed with the
/// share of time under its locks, how often a lock was found taken, and
/// (for a lock all sessions share) the ratio Amdahl's law allows with
/// that share.
fn report<L: Layout>(name: &str, one: &L, two: &L, rounds: u64) -> f64 {
    // Warm-up: every reused buffer at its steady size.
    run::<L, false>(one, 1, rounds.min(5));
    run::<L, false>(two, 2, rounds.min(5));
    let single = run::<L, true>(one, 1, rounds);
    let double = run::<L, true>(two, 2, rounds);
    let echoes = (SESSIONS as u64 * rounds) as f64;
    let per_sec = |r: &Run| echoes / r.wall.as_secs_f64();
    let share = |r: &Run| r.held.as_secs_f64() / r.busy.as_secs_f64();
    // Time other processes took from the threads, against their CPU time.
    let stolen = |r: &Run| 100.0 * r.waiting.as_secs_f64() / r.on_cpu.as_secs_f64();
    let ratio = per_sec(&double) / per_sec(&single);
    // CPU time per echo: what two threads add to each echo's work (lock
    // hand-offs, cache lines moving between cores), whatever the load.
    let cpu_ns = |r: &Run| 1e9 * r.on_cpu.as_secs_f64() / echoes;
    // Uncontended, the 1-thread share is the serial fraction.
    let serial = share(&single);
    let amdahl = match L::SHARED_BY_ALL {
        true => format!("{:.2}", 1.0 / (serial + (1.0 - serial) / 2.0)),
        false => "2 (nothing serial)".into(),
    };
    let taken = match double.sections {
        0 => "-".into(),
        n => format!("{:.2}% of {n}", 100.0 * double.taken as f64 / n as f64),
    };
    println!(
        "{name}: 1 thread {:.0} echoes/s, 2 threads {:.0} echoes/s, ratio {ratio:.2}; \
         time holding {}: {:.1}% (1 thread), {:.1}% (2 threads); \
         locks found taken (2 threads): {taken}; \
         CPU per echo: {:.0} ns (1 thread), {:.0} ns (2 threads); \
         Amdahl with a shared lock's 1-thread share: {amdahl} at 2 threads; \
         waiting for a CPU: {:.0}% (1 thread), {:.0}% (2 threads) of the time on one",
        per_sec(&single),
        per_sec(&double),
        L::TIMED_LOCKS,
        100.0 * serial,
        100.0 * share(&double),
        cpu_ns(&single),
        cpu_ns(&double),
        stolen(&single),
        stolen(&double),
    );
    ratio
}

fn bench<L: Layout>(criterion: &mut Criterion, name: &str, one: &L, two: &L) {
    let mut group = criterion.benchmark_group(format!("echo_{name}"));
    group.throughput(Throughput::Elements(SESSIONS as u64));
    for (threads, layout) in [(1, one), (2, two)] {
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter_custom(|iters| run::<L, false>(layout, threads, iters).wall)
        });
    }
    group.finish();
}

fn main() {
    // Under `cargo test` (no `--bench`) every path runs briefly, as a check
    // that each echo writes its ack from both threads; the figures are
    // only worth reading from `cargo bench`.
    let rounds = if std::env::args().any(|a| a == "--bench") {
        1_000
    } else {
        1
    };
    let one_lock = OneLock::new();
    let (shard_one, shard_two) = (ShardPerThread::new(1), ShardPerThread::new(2));
    let shards = Shards::new();
    let one_lock_ratio = report("one_lock", &one_lock, &one_lock, rounds);
    let ceiling = report("shard_per_thread", &shard_one, &shard_two, rounds);
    let shards_ratio = report("shards", &shards, &shards, rounds);
    let groups = Shards::by_thread();
    let groups_ratio = report("shard_groups", &groups, &groups, rounds);
    // On a machine whose cores are busy with other work, even nothing
    // shared does not scale: these are the layouts' ratios against that.
    println!(
        "against this machine's ceiling: one_lock {:.2}, shards {:.2}, shard_groups {:.2}",
        one_lock_ratio / ceiling,
        shards_ratio / ceiling,
        groups_ratio / ceiling
    );
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, "one_lock", &one_lock, &one_lock);
    bench(&mut criterion, "shard_per_thread", &shard_one, &shard_two);
    bench(&mut criterion, "shards", &shards, &shards);
    bench(&mut criterion, "shard_groups", &groups, &groups);
    criterion.final_summary();
}
