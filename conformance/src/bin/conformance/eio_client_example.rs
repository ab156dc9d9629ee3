//! The `engine-io-client-example` row: the `engine_io_client` example
//! itself (tokio) against the npm engine.io server
//! (`node-server/engine-io-server.js`): its text and binary messages come
//! back, it closes, and the Node server sees the close.
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::process::start_server;

/// The row's name.
pub(crate) const NAME: &str = "engine-io-client-example";
/// The longest the example may run.
const LIMIT: Duration = Duration::from_secs(20);

/// Runs the example at `example` against a Node server started from `dir`
/// on `port`; `Err` says what went wrong.
pub(crate) fn run(dir: &Path, example: &Path, port: u16) -> Result<(), String> {
    let mut command = Command::new("node");
    command
        .arg("node-server/engine-io-server.js")
        .arg(port.to_string())
        .current_dir(dir);
    let (server, port) = start_server(command, "node engine.io server", |line| {
        line.strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
    })?;
    let mut child = Command::new(example)
        .arg(format!("http://127.0.0.1:{port}/engine.io/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", example.display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the example did not end within {LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    if !status.success() {
        return Err(format!("the example failed ({status}): {out}"));
    }
    let lines: Vec<&str> = out.lines().collect();
    let want = [
        "text hello",
        "binary b\"\\x01\\x02\\x03\"",
        "close forced close",
    ];
    if !lines.first().is_some_and(|l| l.starts_with("open ")) {
        return Err(format!(
            "the example printed {lines:?}, not `open ...` first"
        ));
    }
    if let Some(missing) = want.iter().find(|w| !lines.contains(w)) {
        return Err(format!(
            "the example printed {lines:?}, without {missing:?}"
        ));
    }
    // The Node server's word for the client's close.
    let seen = Instant::now();
    while seen.elapsed() < Duration::from_secs(5) {
        if server
            .output("node")
            .iter()
            .any(|l| l == "node stdout: CLOSE transport close")
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "the Node server saw no `transport close`: {:?}",
        server.output("node")
    ))
}
