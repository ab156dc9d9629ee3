//! The bus tests on tokio (multi-threaded runtime).

#[macro_use]
mod common;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

bus_tests!(block_on, "Tokio");
