//! [`VirtualRuntime`]: a single-threaded executor on virtual time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use async_task::{Runnable, Task};

use super::pipe::{pipe, PipeControl, PipeEnd, DEFAULT_CAPACITY};
use crate::io::SocketIo;
use crate::runtime::{BoxFuture, Connector, Runtime, Timer};
use crate::serve::ServeConnection;

/// Polls one `run_until_idle` makes at most before it declares a livelock
/// (tasks that keep waking each other without time passing).
const MAX_POLLS_PER_RUN: usize = 1_000_000;

/// How far [`VirtualRuntime::block_on`] moves time at most by default.
const BLOCK_ON_LIMIT: Duration = Duration::from_secs(3600);

/// What the virtual wall clock reads at the epoch: a fixed date, so dates
/// in tests do not depend on when they run (2023-11-14T22:13:20Z).
const WALL_EPOCH_SECS: u64 = 1_700_000_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The virtual clock and the timers waiting on it.
#[derive(Default)]
struct Clock {
    /// Virtual time since the epoch.
    offset: Duration,
    next_timer: u64,
    /// Deadlines by time, then by arming order; an entry whose timer was
    /// moved, fired or dropped since is skipped when it comes up.
    heap: BinaryHeap<Reverse<(Duration, u64, u64)>>,
    next_seq: u64,
    /// The armed timers: their deadline and the task to wake.
    armed: HashMap<u64, (Duration, Waker)>,
}

impl Clock {
    /// The earliest deadline of an armed timer.
    fn next_deadline(&mut self) -> Option<Duration> {
        while let Some(Reverse((at, _, id))) = self.heap.peek().copied() {
            if self.armed.get(&id).is_some_and(|(armed, _)| *armed == at) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Disarms the timers due at the earliest deadline if it is at or
    /// before `limit`, moves time to it and returns their wakers.
    fn fire_next(&mut self, limit: Duration) -> Vec<Waker> {
        let Some(at) = self.next_deadline() else {
            return Vec::new();
        };
        if at > limit {
            return Vec::new();
        }
        self.offset = self.offset.max(at);
        let mut wakers = Vec::new();
        while let Some(Reverse((due, _, id))) = self.heap.peek().copied() {
            if due > at {
                break;
            }
            self.heap.pop();
            if self.armed.get(&id).is_some_and(|(armed, _)| *armed == due) {
                if let Some((_, waker)) = self.armed.remove(&id) {
                    wakers.push(waker);
                }
            }
        }
        wakers
    }
}

type ServeFn = Arc<dyn Fn(PipeEnd, SocketAddr) -> BoxFuture<()> + Send + Sync>;

/// A server the [`Connector`] reaches at one `host:port`.
struct ListenerState {
    /// Serves one accepted connection (either server of the crate).
    serve: ServeFn,
    accepting: bool,
    capacity: usize,
    /// The server side of every connection it accepted.
    connections: Vec<PipeControl>,
    /// When each connection attempt came, as virtual time since the epoch.
    attempts: Vec<Duration>,
}

/// A listener's state, shared by the runtime and the test's [`Listener`].
type SharedListener = Arc<Mutex<ListenerState>>;

struct Inner {
    epoch: StdInstant,
    wall_epoch: SystemTime,
    clock: Mutex<Clock>,
    /// Tasks woken and waiting to be polled, in wake order.
    queue: Mutex<VecDeque<Runnable>>,
    listeners: Mutex<HashMap<(String, u16), SharedListener>>,
    next_peer_port: Mutex<u16>,
    /// Tasks spawned and not yet finished or dropped.
    live_tasks: Arc<AtomicUsize>,
}

/// A task's future, counted in [`Inner::live_tasks`] until it is dropped
/// (finished, or cancelled with its task).
struct Counted<F> {
    future: F,
    live: Arc<AtomicUsize>,
}

impl<F> Counted<F> {
    fn new(future: F, live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::Relaxed);
        Counted {
            future,
            live: live.clone(),
        }
    }
}

impl<F: Future + Unpin> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        std::pin::Pin::new(&mut self.future).poll(cx)
    }
}

impl<F> Drop for Counted<F> {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A [`Runtime`] (and [`Connector`]) on virtual time, for deterministic
/// tests: tasks run only inside [`VirtualRuntime::run_until_idle`],
/// [`VirtualRuntime::advance`] and [`VirtualRuntime::block_on`], on the
/// calling thread, in the order they were woken; time stands still until
/// the test moves it. Cloning shares it. See the [module docs](super).
#[derive(Clone)]
pub struct VirtualRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for VirtualRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualRuntime")
            .field("elapsed", &self.elapsed())
            .finish_non_exhaustive()
    }
}

impl Default for VirtualRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualRuntime {
    /// A runtime whose virtual clock starts now (one real instant read
    /// once as its epoch; every later reading is the epoch plus virtual
    /// time).
    pub fn new() -> Self {
        VirtualRuntime {
            inner: Arc::new(Inner {
                epoch: StdInstant::now(),
                wall_epoch: UNIX_EPOCH + Duration::from_secs(WALL_EPOCH_SECS),
                clock: Mutex::new(Clock::default()),
                queue: Mutex::new(VecDeque::new()),
                listeners: Mutex::new(HashMap::new()),
                next_peer_port: Mutex::new(40_000),
                live_tasks: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    /// The instant virtual time started at.
    pub fn epoch(&self) -> StdInstant {
        self.inner.epoch
    }

    /// Virtual time elapsed since the epoch.
    pub fn elapsed(&self) -> Duration {
        lock(&self.inner.clock).offset
    }

    /// How many spawned tasks have neither finished nor been dropped: a
    /// test can check that tasks end when what they serve goes away.
    pub fn live_tasks(&self) -> usize {
        self.inner.live_tasks.load(Ordering::Relaxed)
    }

    /// The earliest deadline of an armed timer, as virtual time since the
    /// epoch.
    pub fn next_deadline(&self) -> Option<Duration> {
        lock(&self.inner.clock).next_deadline()
    }

    fn schedule_fn(&self) -> impl Fn(Runnable) + Send + Sync + 'static {
        let queue: Weak<Inner> = Arc::downgrade(&self.inner);
        move |runnable| {
            if let Some(inner) = queue.upgrade() {
                lock(&inner.queue).push_back(runnable);
            }
            // Else the runtime is gone: dropping the runnable drops the future.
        }
    }

    /// Spawns `future` and returns a handle to its output. Like every
    /// task, it runs only while the test drives the runtime.
    pub fn spawn_task<T, F>(&self, future: F) -> Spawned<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let future = Counted::new(Box::pin(future), &self.inner.live_tasks);
        let (runnable, task) = async_task::spawn(future, self.schedule_fn());
        runnable.schedule();
        Spawned { task: Some(task) }
    }

    /// Polls woken tasks until none is left, without moving time. Returns
    /// how many polls it made.
    ///
    /// # Panics
    ///
    /// If tasks keep waking each other for a million polls (a livelock),
    /// or when a task panics.
    pub fn run_until_idle(&self) -> usize {
        let mut polls = 0;
        loop {
            let next = lock(&self.inner.queue).pop_front();
            let Some(runnable) = next else { return polls };
            runnable.run();
            polls += 1;
            assert!(
                polls < MAX_POLLS_PER_RUN,
                "tasks kept waking each other for {MAX_POLLS_PER_RUN} polls without time passing"
            );
        }
    }

    /// Moves virtual time forward by `by`: runs what is ready, then fires
    /// the timers due in that span in deadline order, each with the clock
    /// reading exactly its deadline, running the tasks it woke before the
    /// next; the clock ends at exactly `elapsed() + by`.
    pub fn advance(&self, by: Duration) {
        let target = self.elapsed() + by;
        self.advance_to_offset(target);
    }

    /// Moves virtual time forward to `deadline` (nothing if it has passed).
    pub fn advance_to(&self, deadline: StdInstant) {
        self.advance_to_offset(deadline.saturating_duration_since(self.inner.epoch));
    }

    fn advance_to_offset(&self, target: Duration) {
        loop {
            self.run_until_idle();
            let wakers = lock(&self.inner.clock).fire_next(target);
            if wakers.is_empty() {
                break;
            }
            for waker in wakers {
                waker.wake();
            }
        }
        {
            let mut clock = lock(&self.inner.clock);
            clock.offset = clock.offset.max(target);
        }
        self.run_until_idle();
    }

    /// Moves time to the next timer's deadline and runs what it wakes;
    /// `false` (time unmoved) when no timer is armed.
    pub fn advance_to_next_timer(&self) -> bool {
        self.run_until_idle();
        match self.next_deadline() {
            Some(at) => {
                self.advance_to_offset(at);
                true
            }
            None => false,
        }
    }

    /// Runs `future` to completion: runs the ready tasks, and while it is
    /// not done, jumps to the next timer's deadline. Time moves only as
    /// far as the future needs.
    ///
    /// # Panics
    ///
    /// If the future waits on nothing a timer or another task can wake,
    /// or on more than an hour of virtual time (see
    /// [`VirtualRuntime::block_on_within`]).
    pub fn block_on<T, F>(&self, future: F) -> T
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        self.block_on_within(BLOCK_ON_LIMIT, future)
    }

    /// [`VirtualRuntime::block_on`], moving time by at most `limit`.
    pub fn block_on_within<T, F>(&self, limit: Duration, future: F) -> T
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let give_up = self.elapsed() + limit;
        let task = self.spawn_task(future);
        loop {
            self.run_until_idle();
            if task.is_finished() {
                return task.take();
            }
            match self.next_deadline() {
                Some(at) if at <= give_up => self.advance_to_offset(at),
                Some(at) => panic!(
                    "block_on: the future is still pending and the next timer is at {at:?}, past the limit {give_up:?}"
                ),
                None => panic!("block_on: the future is pending and no timer can wake anything"),
            }
        }
    }

    /// Makes `server` (a [`SocketIo`] or an
    /// [`EngineIo`](crate::engine_io::EngineIo)) reachable by the
    /// [`Connector`] at `host:port`: each `connect` gets one end of a fresh
    /// [pipe](super::pipe()) whose other end `server` serves
    /// ([`SocketIo::serve_connection`]) on a task of this runtime.
    pub fn listen<T: ServeConnection>(&self, host: &str, port: u16, server: &T) -> Listener {
        let server = server.clone();
        let serve: ServeFn = Arc::new(move |stream, peer| server.serve(stream, Some(peer)));
        let state = Arc::new(Mutex::new(ListenerState {
            serve,
            accepting: true,
            capacity: DEFAULT_CAPACITY,
            connections: Vec::new(),
            attempts: Vec::new(),
        }));
        lock(&self.inner.listeners).insert((host.to_owned(), port), state.clone());
        Listener { state }
    }

    /// A connection to `io` as a raw pipe end, for a client that speaks the
    /// wire itself (see [`RawClient`](super::RawClient)); its server side is
    /// served on a task of this runtime.
    pub fn connect_raw(&self, io: &SocketIo, capacity: usize) -> (PipeEnd, PipeControl) {
        let (client, server) = pipe(capacity);
        let control = server.control();
        let peer = self.next_peer();
        let io = io.clone();
        self.spawn(Box::pin(async move {
            io.serve_connection(server, Some(peer)).await;
        }));
        (client, control)
    }

    fn next_peer(&self) -> SocketAddr {
        let mut port = lock(&self.inner.next_peer_port);
        *port = port.wrapping_add(1).max(1024);
        SocketAddr::from((Ipv4Addr::LOCALHOST, *port))
    }
}

impl Runtime for VirtualRuntime {
    fn instance(&self) -> u64 {
        // Unique while it lives, and a manager on it keeps it alive.
        Arc::as_ptr(&self.inner) as usize as u64
    }

    fn spawn(&self, future: BoxFuture<()>) {
        let future = Counted::new(future, &self.inner.live_tasks);
        let (runnable, task) = async_task::spawn(future, self.schedule_fn());
        task.detach();
        runnable.schedule();
    }

    fn now(&self) -> StdInstant {
        self.inner.epoch + self.elapsed()
    }

    fn wall_clock(&self) -> SystemTime {
        self.inner.wall_epoch + self.elapsed()
    }

    fn timer(&self, deadline: StdInstant) -> Box<dyn Timer> {
        let id = {
            let mut clock = lock(&self.inner.clock);
            clock.next_timer += 1;
            clock.next_timer
        };
        Box::new(VirtualTimer {
            inner: Arc::downgrade(&self.inner),
            id,
            deadline: deadline.saturating_duration_since(self.inner.epoch),
        })
    }
}

impl Connector for VirtualRuntime {
    type Stream = PipeEnd;

    fn connect(&self, host: &str, port: u16) -> BoxFuture<std::io::Result<PipeEnd>> {
        let listener = lock(&self.inner.listeners)
            .get(&(host.to_owned(), port))
            .cloned();
        let now = self.elapsed();
        let result = match listener {
            None => Err(refused(host, port)),
            Some(listener) => {
                let mut state = lock(&listener);
                state.attempts.push(now);
                if state.accepting {
                    let (client, server) = pipe(state.capacity);
                    state.connections.push(server.control());
                    let serve = state.serve.clone();
                    drop(state);
                    let peer = self.next_peer();
                    self.spawn(serve(server, peer));
                    Ok(client)
                } else {
                    Err(refused(host, port))
                }
            }
        };
        Box::pin(async move { result })
    }
}

fn refused(host: &str, port: u16) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        format!("nothing listens on {host}:{port} (virtual)"),
    )
}

/// A timer of the [`VirtualRuntime`]: armed in its heap while a task waits
/// on it.
struct VirtualTimer {
    inner: Weak<Inner>,
    id: u64,
    /// Virtual time since the epoch.
    deadline: Duration,
}

impl Timer for VirtualTimer {
    fn reset(&mut self, deadline: StdInstant) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        self.deadline = deadline.saturating_duration_since(inner.epoch);
        // Armed again, at the new deadline, by the next poll.
        lock(&inner.clock).armed.remove(&self.id);
    }

    fn poll_fire(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(inner) = self.inner.upgrade() else {
            return Poll::Pending;
        };
        let mut clock = lock(&inner.clock);
        if self.deadline <= clock.offset {
            clock.armed.remove(&self.id);
            return Poll::Ready(());
        }
        let fresh = match clock.armed.get(&self.id) {
            Some((at, waker)) => *at != self.deadline || !waker.will_wake(cx.waker()),
            None => true,
        };
        if fresh {
            clock
                .armed
                .insert(self.id, (self.deadline, cx.waker().clone()));
            let seq = clock.next_seq;
            clock.next_seq += 1;
            clock.heap.push(Reverse((self.deadline, seq, self.id)));
        }
        Poll::Pending
    }
}

impl Drop for VirtualTimer {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            lock(&inner.clock).armed.remove(&self.id);
        }
    }
}

/// A task spawned by [`VirtualRuntime::spawn_task`]; dropping it cancels
/// the task.
#[derive(Debug)]
pub struct Spawned<T> {
    task: Option<Task<T>>,
}

impl<T> Spawned<T> {
    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_some_and(Task::is_finished)
    }

    /// The task's output.
    ///
    /// # Panics
    ///
    /// If it has not finished (drive the runtime first).
    pub fn take(mut self) -> T {
        let task = self.task.take().expect("output taken once");
        assert!(task.is_finished(), "the task has not finished yet");
        futures_lite::future::block_on(task)
    }
}

/// A server registered with [`VirtualRuntime::listen`]: what reached it,
/// and the means to refuse or drop connections.
#[derive(Clone)]
pub struct Listener {
    state: Arc<Mutex<ListenerState>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("attempts", &self.attempts())
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// When each connection attempt came (accepted or refused), as virtual
    /// time since the runtime's epoch.
    pub fn attempts(&self) -> Vec<Duration> {
        lock(&self.state).attempts.clone()
    }

    /// Whether connections are accepted (else refused, as a closed port).
    pub fn set_accepting(&self, accepting: bool) {
        lock(&self.state).accepting = accepting;
    }

    /// The buffer size of each direction of later connections' pipes.
    pub fn set_capacity(&self, capacity: usize) {
        lock(&self.state).capacity = capacity.max(1);
    }

    /// How many accepted connections are still open on both sides.
    pub fn open_connections(&self) -> usize {
        lock(&self.state)
            .connections
            .iter()
            .filter(|c| !c.is_closed())
            .count()
    }

    /// Holds (or releases) every open accepted connection: nothing
    /// written either way is read while held (see [`PipeControl::hold`]).
    pub fn hold_connections(&self, held: bool) {
        for connection in &lock(&self.state).connections {
            connection.hold(held);
        }
    }

    /// Closes every accepted connection, as a server whose sockets were
    /// closed: both sides read EOF and their writes fail.
    pub fn close_connections(&self) {
        let connections = std::mem::take(&mut lock(&self.state).connections);
        for connection in connections {
            connection.close();
        }
    }

    /// Breaks every accepted connection, as a network failure: reads and
    /// writes of both sides fail with `ConnectionReset`.
    pub fn abort_connections(&self) {
        let connections = std::mem::take(&mut lock(&self.state).connections);
        for connection in connections {
            connection.abort();
        }
    }
}
