//! The rows of client libraries sio's authors did not write, against the
//! scenario servers: python-socketio's sync `Client` (`py-sync-*`) and
//! asyncio `AsyncClient` (`py-async-*`), run as
//! `python clients/python/<script>.py <url> <sync|async> [mode]` from a
//! virtual environment the runner makes (pinned
//! `clients/python/requirements.txt`), and the `rust_socketio` crate's
//! async client on tokio (`rust-socketio-*`), run as
//! `rust-socketio-client <script> <url> [mode]` (conformance/rust-socketio,
//! built by `conformance/run`, beside this binary).
//!
//! A client that differs from the npm client the same way with the Node
//! server prints `KNOWN <what>`: the row passes and the table shows it as a
//! known difference of that client (`clients/KNOWN-DIFFERENCES.md`). The
//! evidence runs with them:
//! the rows whose scenario `node-server/scenarios.js` serves too run once
//! more against the npm `socket.io` server, in the `node` column.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::process::{start_server, Client, Server};
use super::{new_outcome, start_scenario_server, Outcome};

/// The scenario servers `node-server/scenarios.js` serves as well.
const NODE_SCENARIOS: &[&str] = &["binary", "disconnect", "json-types"];

/// The column of the rows run against the Node server.
pub(crate) const NODE: &str = "node";

/// How long one client run may take (they take about a second).
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    PythonSync,
    PythonAsync,
    RustSocketio,
}

impl Family {
    fn what(self) -> &'static str {
        match self {
            Family::PythonSync => "python-socketio Client",
            Family::PythonAsync => "python-socketio AsyncClient",
            Family::RustSocketio => "rust_socketio (tokio)",
        }
    }
}

/// One row: a client script against one scenario server.
pub(crate) struct Row {
    pub(crate) name: &'static str,
    family: Family,
    /// `clients/python/<script>.py`, or the rust_socketio client's scenario.
    script: &'static str,
    /// The scenario server (`scenarios::ALL`).
    server: &'static str,
    mode: Option<&'static str>,
    what: &'static str,
}

/// The scenarios every client runs, with its name prefix.
macro_rules! rows_of {
    ($prefix:literal, $family:expr) => {
        [
            row!(
                $prefix,
                $family,
                "auth",
                "auth",
                "auth-middleware",
                None,
                "connect with auth, refusals"
            ),
            row!(
                $prefix,
                $family,
                "namespaces",
                "namespaces",
                "namespaces",
                None,
                "/admin, / + /admin"
            ),
            row!(
                $prefix,
                $family,
                "json",
                "json-types",
                "json-types",
                None,
                "events with JSON"
            ),
            row!(
                $prefix,
                $family,
                "binary",
                "binary",
                "binary",
                None,
                "events with binary"
            ),
            row!(
                $prefix,
                $family,
                "acks",
                "acks",
                "acks",
                None,
                "acks both ways"
            ),
            row!(
                $prefix,
                $family,
                "rooms",
                "rooms",
                "rooms",
                None,
                "rooms through server events"
            ),
            row!(
                $prefix,
                $family,
                "disconnect",
                "disconnect",
                "disconnect",
                None,
                "disconnect reasons"
            ),
            row!(
                $prefix,
                $family,
                "polling",
                "transports",
                "transports",
                Some("polling"),
                "polling only"
            ),
            row!(
                $prefix,
                $family,
                "websocket",
                "transports",
                "transports",
                Some("websocket"),
                "WebSocket only"
            ),
            row!(
                $prefix,
                $family,
                "upgrade",
                "transports",
                "transports",
                Some("upgrade"),
                "polling, then the upgrade"
            ),
        ]
    };
}

macro_rules! row {
    ($prefix:literal, $family:expr, $suffix:literal, $script:literal, $server:literal, $mode:expr, $what:literal) => {
        Row {
            name: concat!($prefix, $suffix),
            family: $family,
            script: $script,
            server: $server,
            mode: $mode,
            what: $what,
        }
    };
}

const PY_SYNC: [Row; 10] = rows_of!("py-sync-", Family::PythonSync);
const PY_ASYNC: [Row; 10] = rows_of!("py-async-", Family::PythonAsync);
const RUST_SOCKETIO: [Row; 10] = rows_of!("rust-socketio-", Family::RustSocketio);

pub(crate) fn rows() -> impl Iterator<Item = &'static Row> {
    PY_SYNC.iter().chain(&PY_ASYNC).chain(&RUST_SOCKETIO)
}

pub(crate) fn is_row(name: &str) -> bool {
    rows().any(|r| r.name == name)
}

pub(crate) fn list() {
    for row in rows() {
        println!("{:<24} {}: {}", row.name, row.family.what(), row.what);
    }
}

/// What the clients need, made once per run: the python interpreter of the
/// virtual environment, the rust_socketio client binary.
pub(crate) struct Clients {
    python: Result<PathBuf, String>,
    rust_socketio: Result<PathBuf, String>,
}

impl Clients {
    /// Prepares only what the selected rows need (`selected` empty: all).
    pub(crate) fn prepare(dir: &Path, sibling: &Path, selected: &[String]) -> Self {
        let wanted = |family: Family| {
            rows().any(|r| {
                r.family == family && (selected.is_empty() || selected.iter().any(|s| s == r.name))
            })
        };
        let not_needed = || Err("not prepared".to_owned());
        Clients {
            python: if wanted(Family::PythonSync) || wanted(Family::PythonAsync) {
                python_venv(dir, sibling)
            } else {
                not_needed()
            },
            rust_socketio: if wanted(Family::RustSocketio) {
                rust_socketio_binary(sibling)
            } else {
                not_needed()
            },
        }
    }
}

/// Runs the selected rows of `runtime`, reporting each outcome.
pub(crate) fn run(
    dir: &Path,
    server: &Path,
    clients: &Clients,
    runtime: &str,
    selected: &[String],
    mut report: impl FnMut(Outcome),
) {
    for row in rows() {
        if !selected.is_empty() && !selected.iter().any(|s| s == row.name) {
            continue;
        }
        let scenario_server =
            || start_scenario_server(server, runtime, row.server, None, None, &[]);
        report(run_row(dir, clients, runtime, row, scenario_server));
    }
}

/// Runs the selected rows whose scenario the Node server serves too,
/// against it (the `node` column: the evidence for a `KNOWN`).
pub(crate) fn run_node(
    dir: &Path,
    clients: &Clients,
    selected: &[String],
    mut report: impl FnMut(Outcome),
) {
    for row in rows().filter(|r| NODE_SCENARIOS.contains(&r.server)) {
        if !selected.is_empty() && !selected.iter().any(|s| s == row.name) {
            continue;
        }
        let node = || {
            let mut command = Command::new("node");
            command
                .arg(dir.join("node-server/scenarios.js"))
                .arg(row.server)
                .current_dir(dir);
            start_server(command, "node scenario server", |line| {
                line.strip_prefix("PORT ")
                    .and_then(|p| p.trim().parse::<u16>().ok())
            })
        };
        report(run_row(dir, clients, NODE, row, node));
    }
}

fn run_row(
    dir: &Path,
    clients: &Clients,
    runtime: &str,
    row: &'static Row,
    start: impl FnOnce() -> Result<(Server, u16), String>,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(row.name, runtime);
    let client = match row.family {
        Family::PythonSync | Family::PythonAsync => clients.python.clone().map(|python| {
            let script = dir
                .join("clients/python")
                .join(format!("{}.py", row.script));
            let kind = if row.family == Family::PythonSync {
                "sync"
            } else {
                "async"
            };
            (python, vec![OsString::from(script)], kind)
        }),
        Family::RustSocketio => clients
            .rust_socketio
            .clone()
            .map(|binary| (binary, vec![OsString::from(row.script)], "")),
    };
    let prepared = client.and_then(|client| start().map(|s| (client, s)));
    match prepared {
        Ok(((program, first, kind), (mut server, port))) => {
            let mut client = Client::program(dir, program.as_os_str(), first, port, TIMEOUT);
            client.args = [kind, row.mode.unwrap_or("")]
                .into_iter()
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
            client.env = vec![(
                "CLIENT_TIMEOUT_MS",
                (TIMEOUT.as_millis() - 2000).to_string(),
            )];
            let mut no_restart =
                |_: &mut Server| Err("these rows cannot restart the server".to_owned());
            client.run(&mut server, &mut no_restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

/// The rust_socketio client beside this binary.
fn rust_socketio_binary(sibling: &Path) -> Result<PathBuf, String> {
    let path = sibling.with_file_name(format!(
        "rust-socketio-client{}",
        std::env::consts::EXE_SUFFIX
    ));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: conformance/run builds it (cd conformance/rust-socketio && cargo build --locked)",
            path.display()
        ))
    }
}

/// The python of the suite's virtual environment: `SIO_PY_VENV`, or
/// `conformance-venv` in the target directory (cached with it). Made with
/// `SIO_PYTHON` (default `python3`, CPython 3.11 or later) and the pinned
/// requirements; made again when they change (a copy of them is kept in it).
fn python_venv(dir: &Path, sibling: &Path) -> Result<PathBuf, String> {
    let venv = match std::env::var_os("SIO_PY_VENV") {
        Some(path) => PathBuf::from(path),
        None => sibling
            .parent()
            .and_then(Path::parent)
            .map(|target| target.join("conformance-venv"))
            .ok_or("cannot find the target directory")?,
    };
    let python = venv.join("bin/python");
    let requirements = dir.join("clients/python/requirements.txt");
    let wanted =
        std::fs::read(&requirements).map_err(|e| format!("{}: {e}", requirements.display()))?;
    let stamp = venv.join("sio-requirements.txt");
    if python.is_file() && std::fs::read(&stamp).is_ok_and(|had| had == wanted) {
        return Ok(python);
    }
    println!(
        "python venv: {} (missing or older than requirements.txt)",
        venv.display()
    );
    let base = std::env::var_os("SIO_PYTHON").unwrap_or_else(|| "python3".into());
    run_setup(
        Command::new(&base)
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
    )?;
    run_setup(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
            ])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(python)
}

fn run_setup(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}
