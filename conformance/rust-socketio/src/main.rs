//! The conformance scenarios through the `rust_socketio` crate's async
//! client on tokio: `rust-socketio-client <scenario> <server url> [mode]`.
//!
//! Output protocol of the suite's client scripts: `FAIL: <reason>` and exit
//! 1 on failure, `NOTE <text>` for observations (among them what this
//! client has no API for), `KNOWN <text>` for a known difference of this
//! client, one it shows against the Node server too
//! (conformance/clients/KNOWN-DIFFERENCES.md).

mod client;
mod scenarios;

use std::time::Duration;

/// How long one scenario may take.
const HARD_TIMEOUT: Duration = Duration::from_secs(15);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (scenario, url, mode) = match args.as_slice() {
        [s, u] => (s.clone(), u.clone(), String::new()),
        [s, u, m] => (s.clone(), u.clone(), m.clone()),
        _ => {
            println!("FAIL: usage: rust-socketio-client <scenario> <server url> [mode]");
            std::process::exit(2);
        }
    };
    let hard = std::env::var("CLIENT_TIMEOUT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(HARD_TIMEOUT, Duration::from_millis);
    let run = client::Run::new(url);
    let outcome = tokio::time::timeout(hard, scenarios::run(&scenario, &mode, &run)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{}: {e}", run.current_step())),
        Err(_) => Some(format!(
            "{}: timed out after {} s",
            run.current_step(),
            hard.as_secs()
        )),
    };
    // Clients still connected are not disconnected: the process exits and
    // the server sees the transports close.
    match failure {
        None => std::process::exit(0),
        Some(reason) => {
            println!("FAIL: {reason}");
            std::process::exit(1);
        }
    }
}
