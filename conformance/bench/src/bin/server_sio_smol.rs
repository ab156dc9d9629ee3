//! The bench app (`sio_bench::app`) on sio-smol, on smol's defaults: the
//! main thread in `smol::block_on`, tasks on smol's global executor
//! (`SMOL_THREADS`, 1 unless set), as the sio-smol docs show.
fn main() -> std::io::Result<()> {
    smol::block_on(async {
        let io = sio_smol::new(sio_smol::Config::default());
        sio_bench::app::install(&io);
        let port = sio_bench::app::port();
        let listener = smol::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        println!("listening on http://127.0.0.1:{port}");
        sio_smol::serve(listener, io).await
    })
}
