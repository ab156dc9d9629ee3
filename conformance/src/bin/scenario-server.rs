//! `scenario-server <runtime> <scenario>`: serves one scenario on
//! 127.0.0.1 at a free port, prints `PORT <n>`, and serves until killed
//! (or until its stdin closes, so a crashed runner leaves no server behind).
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use sio_conformance::{config_of, scenario, scenarios, Scenario};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [runtime, name] = args.as_slice() else {
        eprintln!("usage: scenario-server <runtime> <scenario>");
        return ExitCode::from(2);
    };
    let Some(scenario) = scenario(name) else {
        let names: Vec<&str> = scenarios::ALL.iter().map(|s| s.name).collect();
        eprintln!("unknown scenario {name:?}; known: {}", names.join(", "));
        return ExitCode::from(2);
    };
    exit_when_stdin_closes();
    // The one place that knows the runtimes: add `smol`, `async-std` here.
    let served = match runtime.as_str() {
        "tokio" => serve_tokio(scenario),
        "smol" => serve_smol(scenario),
        "async-std" => serve_async_std(scenario),
        other => {
            eprintln!(
                "unknown runtime {other:?}; known: {:?}",
                sio_conformance::RUNTIMES
            );
            return ExitCode::from(2);
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scenario-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Tells the runner where to connect.
fn announce(addr: SocketAddr) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "PORT {}", addr.port())?;
    out.flush()
}

fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}

fn serve_tokio(scenario: &Scenario) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let io = sio_tokio::new(config_of(scenario));
        (scenario.setup)(&io);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        announce(listener.local_addr()?)?;
        sio_tokio::serve(listener, io).await
    })
}

fn serve_smol(scenario: &Scenario) -> std::io::Result<()> {
    smol::block_on(async {
        let io = sio_smol::new(config_of(scenario));
        (scenario.setup)(&io);
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
        announce(listener.local_addr()?)?;
        sio_smol::serve(listener, io).await
    })
}

fn serve_async_std(scenario: &Scenario) -> std::io::Result<()> {
    async_std::task::block_on(async {
        let io = sio_async_std::new(config_of(scenario));
        (scenario.setup)(&io);
        let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
        announce(listener.local_addr()?)?;
        sio_async_std::serve(listener, io).await
    })
}
