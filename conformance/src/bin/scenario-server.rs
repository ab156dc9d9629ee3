//! `scenario-server <runtime> <scenario> [port]`: serves one scenario on
//! 127.0.0.1 at `port` (a free one when absent), prints `PORT <n>`, and
//! serves until killed (or until its stdin closes, so a crashed runner
//! leaves no server behind). With a port it is a restarted server taking
//! over its predecessor's port: it retries the bind for a while.
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sio_conformance::{config_of, engine_io_echo, scenario, scenarios, Scenario};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (runtime, name, port) = match args.as_slice() {
        [runtime, name] => (runtime, name, None),
        [runtime, name, port] => match port.parse::<u16>() {
            Ok(port) => (runtime, name, Some(port)),
            Err(e) => {
                eprintln!("scenario-server: port {port:?}: {e}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: scenario-server <runtime> <scenario> [port]");
            return ExitCode::from(2);
        }
    };
    if name == engine_io_echo::NAME {
        return serve_engine_io(runtime, port);
    }
    let Some(scenario) = scenario(name) else {
        let names: Vec<&str> = scenarios::ALL.iter().map(|s| s.name).collect();
        eprintln!("unknown scenario {name:?}; known: {}", names.join(", "));
        return ExitCode::from(2);
    };
    sio_conformance::exit_when_stdin_closes();
    let listener = match bind(port) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "scenario-server: cannot listen on 127.0.0.1:{}: {e}",
                port.unwrap_or(0)
            );
            return ExitCode::FAILURE;
        }
    };
    // The one place that knows the runtimes.
    let served = match runtime.as_str() {
        "tokio" => serve_tokio(scenario, listener),
        "smol" => serve_smol(scenario, listener),
        "async-std" => serve_async_std(scenario, listener),
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

/// How long a restarted server retries to take over its port.
const BIND_RETRY_FOR: Duration = Duration::from_secs(5);

/// A non-blocking listener on 127.0.0.1:`port` (any free port when `None`).
/// std sets SO_REUSEADDR on Unix, so the old server's TIME_WAIT connections
/// do not block the port; the retry covers a predecessor still exiting.
fn bind(port: Option<u16>) -> std::io::Result<TcpListener> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(0)));
    let started = Instant::now();
    let listener = loop {
        match TcpListener::bind(addr) {
            Ok(listener) => break listener,
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && started.elapsed() < BIND_RETRY_FOR =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    };
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Tells the runner where to connect.
fn announce(addr: SocketAddr) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "PORT {}", addr.port())?;
    out.flush()
}

fn serve_tokio(scenario: &Scenario, listener: TcpListener) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let io = sio_tokio::new(config_of(scenario));
        (scenario.setup)(&io);
        let listener = tokio::net::TcpListener::from_std(listener)?;
        announce(listener.local_addr()?)?;
        sio_tokio::serve(listener, io).await
    })
}

fn serve_smol(scenario: &Scenario, listener: TcpListener) -> std::io::Result<()> {
    smol::block_on(async {
        let io = sio_smol::new(config_of(scenario));
        (scenario.setup)(&io);
        let listener = smol::net::TcpListener::try_from(listener)?;
        announce(listener.local_addr()?)?;
        sio_smol::serve(listener, io).await
    })
}

fn serve_async_std(scenario: &Scenario, listener: TcpListener) -> std::io::Result<()> {
    async_std::task::block_on(async {
        let io = sio_async_std::new(config_of(scenario));
        (scenario.setup)(&io);
        let listener = async_std::net::TcpListener::from(listener);
        announce(listener.local_addr()?)?;
        sio_async_std::serve(listener, io).await
    })
}

/// The Engine.IO echo server on `runtime` (not a Socket.IO scenario).
fn serve_engine_io(runtime: &str, port: Option<u16>) -> ExitCode {
    sio_conformance::exit_when_stdin_closes();
    let served = bind(port).and_then(|listener| match runtime {
        "tokio" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(async {
                let server = sio_tokio::engine_io::new(engine_io_echo::config());
                engine_io_echo::setup(&server);
                let listener = tokio::net::TcpListener::from_std(listener)?;
                announce(listener.local_addr()?)?;
                sio_tokio::engine_io::serve(listener, server).await
            }),
        "smol" => smol::block_on(async {
            let server = sio_smol::engine_io::new(engine_io_echo::config());
            engine_io_echo::setup(&server);
            let listener = smol::net::TcpListener::try_from(listener)?;
            announce(listener.local_addr()?)?;
            sio_smol::engine_io::serve(listener, server).await
        }),
        "async-std" => async_std::task::block_on(async {
            let server = sio_async_std::engine_io::new(engine_io_echo::config());
            engine_io_echo::setup(&server);
            let listener = async_std::net::TcpListener::from(listener);
            announce(listener.local_addr()?)?;
            sio_async_std::engine_io::serve(listener, server).await
        }),
        other => Err(std::io::Error::other(format!("unknown runtime {other:?}"))),
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scenario-server: {e}");
            ExitCode::FAILURE
        }
    }
}
