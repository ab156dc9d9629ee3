//! One host for a sans-IO state machine, shared by every driver of one
//! (the Socket.IO server, the Engine.IO server, the client): the machine
//! behind one lock, the run loop (feed an input with `now`, drain its
//! outputs until it names its next deadline) and one timer task per host.
//!
//! Floor: the bottom one, beside `sync`, `runtime` and `clock`. It knows no
//! machine's outputs and no handle: what an output means is the caller's
//! [`Router`], so the server and the client layers build on this, never
//! the other way round.

use std::sync::{Arc, Mutex, Weak};

use event_listener::Event as Notify;

use crate::clock::Clock;
use crate::runtime::{fired, Runtime, Timer};
use crate::sync::lock;
use sio_core::time::Instant;

/// What [`Machine::poll_next`] gives: an output, or the end of a drain.
pub(crate) enum Next<O> {
    Output(O),
    /// Drained; wake the machine at this instant (`None`: only on input).
    Timeout(Option<Instant>),
}

/// A core state machine as the host drives it (str0m's contract: after an
/// input, poll until the timeout).
pub(crate) trait Machine: Send + 'static {
    /// Everything but the timeout.
    type Output;
    /// The next output.
    fn poll_next(&mut self) -> Next<Self::Output>;
}

/// Where one drain's outputs go; made by the caller for each input, so it
/// can hold state across the run (a lock taken once for many outputs).
/// Routing runs under the host's lock: it must not run user code nor feed
/// the host again.
pub(crate) trait Router<M: Machine> {
    /// Before the input: reports deferred until the lock is taken.
    fn before_input(&mut self, _machine: &mut M, _now: Instant) {}
    /// One output, in the order the machine produced it.
    fn route(&mut self, machine: &M, output: M::Output);
    /// The drain is over (before the deadline is published).
    fn drained(&mut self, _machine: &M) {}
}

struct Slot<M> {
    machine: M,
    deadline: Option<Instant>,
}

/// A machine behind one lock, held only to feed one input and route what
/// it produced, so outputs leave in the order the machine made them.
pub(crate) struct Host<M> {
    runtime: Arc<dyn Runtime>,
    clock: Clock,
    slot: Mutex<Slot<M>>,
    /// Raised whenever the machine's next deadline changes (and at the end).
    deadline_changed: Notify,
}

impl<M: Machine> Host<M> {
    pub(crate) fn new(runtime: Arc<dyn Runtime>, machine: M) -> Self {
        Host::with_clock(Clock::new(runtime.clone()), runtime, machine)
    }

    /// A host reading `clock` (the shards of one server share theirs, so
    /// their instants compare).
    pub(crate) fn with_clock(clock: Clock, runtime: Arc<dyn Runtime>, machine: M) -> Self {
        Host {
            clock,
            runtime,
            slot: Mutex::new(Slot {
                machine,
                deadline: None,
            }),
            deadline_changed: Notify::new(),
        }
    }

    pub(crate) fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.runtime
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Feeds one input (`f` gets the machine and now) and routes every
    /// output through `router`.
    pub(crate) fn process<T>(
        &self,
        router: &mut impl Router<M>,
        f: impl FnOnce(&mut M, Instant) -> T,
    ) -> T {
        let mut slot = lock(&self.slot);
        let slot = &mut *slot;
        let now = self.clock.now();
        router.before_input(&mut slot.machine, now);
        let result = f(&mut slot.machine, now);
        loop {
            match slot.machine.poll_next() {
                Next::Output(output) => router.route(&slot.machine, output),
                Next::Timeout(deadline) => {
                    router.drained(&slot.machine);
                    if slot.deadline != deadline {
                        slot.deadline = deadline;
                        self.deadline_changed.notify(usize::MAX);
                    }
                    return result;
                }
            }
        }
    }

    /// Reads the machine under the lock: no input, nothing to route.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&M) -> T) -> T {
        f(&lock(&self.slot).machine)
    }

    /// Wakes the timer task to look again (at shutdown).
    pub(crate) fn wake_timer(&self) {
        self.deadline_changed.notify(usize::MAX);
    }

    fn deadline(&self) -> Option<Instant> {
        lock(&self.slot).deadline
    }
}

impl<M> Drop for Host<M> {
    fn drop(&mut self) {
        // The timer task waits on this; it ends when it finds its owner gone.
        self.deadline_changed.notify(usize::MAX);
    }
}

/// The owner of one host per shard: what their timer tasks need of it.
pub(crate) trait Hosted: Send + Sync + 'static {
    type Machine: Machine;
    /// How many hosts (shards) it has.
    fn shard_count(&self) -> usize {
        1
    }
    fn host(&self, shard: usize) -> &Host<Self::Machine>;
    /// Feeds `handle_timeout` to shard `shard` through the owner's router.
    fn on_timeout(self: &Arc<Self>, shard: usize);
    /// Whether the timer task may end (a server shut down with nothing left).
    fn timers_done(&self) -> bool {
        false
    }
}

/// Starts the timer task of each of `owner`'s hosts: it sleeps until the
/// machine's next deadline (or until it changes) and feeds the timeout. It
/// holds the owner weakly and ends with it. No timer per session: one per
/// shard.
pub(crate) fn start_timers<O: Hosted>(owner: &Arc<O>) {
    for shard in 0..owner.shard_count() {
        let weak = Arc::downgrade(owner);
        owner
            .host(shard)
            .runtime
            .spawn(Box::pin(timer_loop(weak, shard)));
    }
}

async fn timer_loop<O: Hosted>(owner: Weak<O>, shard: usize) {
    // One timer, moved to each new deadline.
    let mut timer: Option<Box<dyn Timer>> = None;
    loop {
        let Some(o) = owner.upgrade() else { return };
        if o.timers_done() {
            return;
        }
        let host = o.host(shard);
        // Listen first, then read the deadline: a change in between still wakes us.
        let changed = host.deadline_changed.listen();
        let armed = host.deadline().map(|at| {
            let at = host.clock.to_std(at);
            match timer.take() {
                Some(mut timer) => {
                    timer.reset(at);
                    timer
                }
                None => host.runtime.timer(at),
            }
        });
        drop(o);
        match armed {
            None => changed.await,
            Some(mut armed) => {
                futures_lite::future::or(fired(&mut *armed), changed).await;
                timer = Some(armed);
            }
        }
        let Some(o) = owner.upgrade() else { return };
        let host = o.host(shard);
        if host.deadline().is_some_and(|at| at <= host.clock.now()) {
            o.on_timeout(shard);
        }
    }
}
