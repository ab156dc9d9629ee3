//! The bench app (`sio_bench::app`) on sio-tokio.
use sio_tokio::Config;

/// On tokio's default multi-thread runtime unless the `BENCH_*` variables
/// say otherwise (`sio_bench::runtime`).
fn main() -> std::io::Result<()> {
    #[allow(unused_mut)] // Changed only by the diagnosis knob.
    let mut builder = sio_bench::runtime::builder_from_env();
    // Diagnosis only (built with `RUSTFLAGS="--cfg tokio_unstable"`):
    // `BENCH_DISABLE_LIFO=1` turns off the worker's LIFO slot, and
    // `BENCH_METRICS=1` prints the scheduler's counters every second.
    #[cfg(tokio_unstable)]
    if std::env::var("BENCH_DISABLE_LIFO").as_deref() == Ok("1") {
        builder.disable_lifo_slot();
    }
    let runtime = builder.build()?;
    #[cfg(tokio_unstable)]
    if std::env::var("BENCH_METRICS").as_deref() == Ok("1") {
        print_metrics(runtime.handle().clone());
    }
    runtime.block_on(app())
}

/// Every second on stderr, worker 0's scheduling counters over that second
/// (polls, local schedules, overflows to the shared queue, mean poll time)
/// and the shared queue's depth.
#[cfg(tokio_unstable)]
fn print_metrics(handle: tokio::runtime::Handle) {
    std::thread::spawn(move || {
        let m = handle.metrics();
        let mut last = (0, 0, 0, 0);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            let now = (
                m.worker_poll_count(0),
                m.worker_local_schedule_count(0),
                m.worker_overflow_count(0),
                m.remote_schedule_count(),
            );
            eprintln!(
                "polls {} local {} overflows {} remote {} inject {} local_depth {} mean_poll {:?}",
                now.0 - last.0,
                now.1 - last.1,
                now.2 - last.2,
                now.3 - last.3,
                m.global_queue_depth(),
                m.worker_local_queue_depth(0),
                m.worker_mean_poll_time(0),
            );
            last = now;
        }
    });
}

async fn app() -> std::io::Result<()> {
    let io = sio_tokio::new(Config::default());
    sio_bench::app::install(&io);
    let port = sio_bench::app::port();
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    sio_tokio::serve(listener, io).await
}
