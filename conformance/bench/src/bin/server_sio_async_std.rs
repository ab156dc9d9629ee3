//! The bench app (`sio_bench::app`) on sio-async-std, on async-std's
//! defaults (its global executor, one thread per CPU), as
//! `#[async_std::main]` runs it.
fn main() -> std::io::Result<()> {
    async_std::task::block_on(async {
        let io = sio_async_std::new(sio_async_std::Config::default());
        sio_bench::app::install(&io);
        let port = sio_bench::app::port();
        let listener = async_std::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        println!("listening on http://127.0.0.1:{port}");
        sio_async_std::serve(listener, io).await
    })
}
