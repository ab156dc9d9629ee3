//! The tokio runtime the Rust bench servers run on, picked by environment
//! variables so that both servers are measured on the same one.
//!
//! - `BENCH_RUNTIME=current_thread`: a single-threaded runtime; otherwise
//!   the default multi-thread one, as `#[tokio::main]` builds it.
//! - `BENCH_EVENT_INTERVAL=n`: tasks a busy worker runs between two polls
//!   of the I/O driver (tokio's default is 61).
//! - `BENCH_GLOBAL_QUEUE_INTERVAL=n`: how often a worker takes from the
//!   shared queue first (tokio tunes it between 2 and 127 unless set).
//! - `BENCH_IO_EVENTS=n`: the most I/O events one poll of the driver takes
//!   (default 1024); `BENCH_IO_EVENTS_BUSY=n`: the same for a poll made
//!   while tasks are waiting (default: the former).
//!
//! See NOTES.md, "Tails at 1,000 echo clients", for what they change.

/// A runtime builder set up from the `BENCH_*` variables, I/O and timers
/// enabled.
pub fn builder_from_env() -> tokio::runtime::Builder {
    let mut builder = if std::env::var("BENCH_RUNTIME").as_deref() == Ok("current_thread") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all();
    if let Some(n) = env_number("BENCH_EVENT_INTERVAL") {
        builder.event_interval(n);
    }
    if let Some(n) = env_number("BENCH_GLOBAL_QUEUE_INTERVAL") {
        builder.global_queue_interval(n);
    }
    if let Some(n) = env_number("BENCH_IO_EVENTS") {
        builder.max_io_events_per_tick(n as usize);
    }
    if let Some(n) = env_number("BENCH_IO_EVENTS_BUSY") {
        builder.max_io_events_per_busy_tick(n as usize);
    }
    builder
}

/// A positive number from the environment (tokio panics on zero).
fn env_number(name: &str) -> Option<u32> {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
}
