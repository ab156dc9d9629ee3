//! The driver's time: the runtime's clock, as the core's `Instant`.

use std::sync::Arc;
use std::time::{Instant as StdInstant, SystemTime};

use sio_core::time::{Instant, StdClock};

use crate::runtime::Runtime;

/// The runtime's clock counted from when this was made. Every time the
/// driver hands the core comes from here, so a runtime on virtual time
/// runs the whole driver on it.
#[derive(Clone)]
pub(crate) struct Clock {
    runtime: Arc<dyn Runtime>,
    std: StdClock,
}

impl Clock {
    pub(crate) fn new(runtime: Arc<dyn Runtime>) -> Self {
        let std = StdClock::with_epoch(runtime.now());
        Clock { runtime, std }
    }

    /// Now, as the core counts time.
    pub(crate) fn now(&self) -> Instant {
        self.std.convert(self.runtime.now())
    }

    /// The runtime's own now.
    pub(crate) fn now_std(&self) -> StdInstant {
        self.runtime.now()
    }

    /// The wall clock (for dates users read).
    pub(crate) fn wall_clock(&self) -> SystemTime {
        self.runtime.wall_clock()
    }

    /// A core instant as the runtime's, for arming a timer.
    pub(crate) fn to_std(&self, t: Instant) -> StdInstant {
        self.std.to_std(t)
    }
}
