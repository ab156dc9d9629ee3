//! The conformance suite: every scenario against every runtime with the npm
//! reference client.
//!
//! ```text
//! conformance [--runtime <name>]... [--verbose] [--list] [scenario]...
//! ```
//!
//! It installs the npm packages (`npm ci`) when `node_modules` is missing or
//! older than the lockfile, then, one run at a time, starts the sibling
//! `scenario-server` binary (same directory as this one; it builds nothing),
//! reads its `PORT`, runs `node clients/<scenario>.js <url>`, and kills the
//! server. A client that prints `RESTART` has the server killed and a new
//! one started on the same port, then reads `RESTARTED` on its stdin.
//! Then, per runtime, the client direction: the `client-*` rows
//! (`sio_conformance::client_scenarios`: the sio client against the Node
//! `socket.io` server, in this process; the `client-eio-*` rows, the sio
//! Engine.IO client against the Node `engine.io` server).
//!
//! Then, per runtime, the hostile-client rows (`hostile-*`,
//! `sio_conformance::hostile`): `scenario-server <runtime> hostile`, under
//! `ulimit -n` when the case asks for it, attacked by
//! `node clients/hostile/<case>.js <url>` (`hostile` on the command line
//! names them all).
//!
//! Then the browser runs (tokio only): the chat example (`examples/chat`
//! beside this binary, built by `conformance/run`) on a free port, and
//! `node clients/browser-chat.js <url> <default|polling> <artifacts>`, which
//! drives its page in headless Chromium (`/usr/bin/chromium`; its absence
//! fails these rows) and saves screenshots under `conformance/artifacts/`.
//!
//! Per runtime, the chat contract runs (issue 21): that runtime's chat
//! example (`examples/chat`, `smol_chat`, `async_std_chat`, built by
//! `conformance/run`) with a short rate window, and
//! `node clients/chat-guide.js <url> <websocket|polling|upgrade>`, which
//! drives every row of the Socket.IO basics guide's table.
//!
//! Per runtime, the Engine.IO rows (`engine-io-*`): `scenario-server
//! <runtime> engine-io-echo` (`sio_conformance::engine_io_echo`) and
//! `node clients/engine-io-echo.js <url> <polling|websocket|upgrade>`, the
//! npm `engine.io-client` checking text and binary echoes. With tokio, the
//! `engine-io-client-example` row runs the `engine_io_client` example
//! against the Node `engine.io` server.
//!
//! Per runtime, the rows of clients we did not write (`py-sync-*`,
//! `py-async-*`, `rust-socketio-*`; `conformance/other_clients.rs`):
//! python-socketio's `Client` and `AsyncClient` from a virtual environment
//! the runner makes, and the `rust_socketio` crate, against the scenario
//! servers. A row whose client shows a known difference (one the Node
//! server sees too) passes and reads `KNOWN` in the table. Those of them
//! whose scenario `node-server/scenarios.js` serves run against the Node
//! server too, in the `node` column (`--runtime node`: only those).
//!
//! It ends with a table and `N passed, N failed`; the exit status is
//! non-zero when anything failed.
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sio_conformance::{client_scenarios, hostile, scenarios, RUNTIMES};

// Beside this file, not in src/bin/ (where cargo would take it for a binary).
#[path = "conformance/process.rs"]
mod process;
use process::{start_server, Client, Server};
#[path = "conformance/other_clients.rs"]
mod other_clients;

#[path = "conformance/admin_rows.rs"]
mod admin_rows;
#[path = "conformance/eio_client_example.rs"]
mod eio_client_example;
#[path = "conformance/per_runtime.rs"]
mod per_runtime;
use admin_rows::{run_admin_ui, run_chat_metrics, ADMIN_UI, CHAT_METRICS};
use per_runtime::run_runtime;

/// How long one client script may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one hostile case may run (they take seconds; this bounds a hang).
const HOSTILE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one browser run may take (Chromium's start included).
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
/// The browser runs: row name and the page's transport mode.
const BROWSER_RUNS: &[(&str, &str)] = &[
    ("browser-chat", "default"),
    ("browser-chat-polling", "polling"),
    ("browser-chat-msgpack", "msgpack"),
];
/// The row that runs the Engine.IO echo example itself (tokio) with the
/// npm engine.io-client, polling then upgrade.
const ENGINE_IO_EXAMPLE: &str = "engine-io-example";
/// The runtime the chat example runs on.
const BROWSER_RUNTIME: &str = "tokio";
/// The chat contract runs: row name and the client's transports.
const CHAT_CONTRACT_RUNS: &[(&str, &str)] = &[
    ("chat-guide-ws", "websocket"),
    ("chat-guide-polling", "polling"),
    ("chat-guide-upgrade", "upgrade"),
];
/// The Engine.IO echo runs: row name and engine.io-client's transports.
const ENGINE_IO_RUNS: &[(&str, &str)] = &[
    ("engine-io-polling", "polling"),
    ("engine-io-ws", "websocket"),
    ("engine-io-upgrade", "upgrade"),
];
/// The chat's rate window in those runs (the guide's 60 s, shortened so
/// the scenario sees it slide; the limit stays 10).
const CHAT_RATE_WINDOW_MS: u64 = 3000;
/// How long one chat contract run may take (the window's wait included).
const CHAT_CONTRACT_TIMEOUT: Duration = Duration::from_secs(40);
/// The chat's `JWT_SECRET` in every run (the contract runs sign tokens).
const CHAT_SECRET: &str = "sio-conformance-browser-secret";
/// Where Debian installs Chromium; `SIO_CHROMIUM` overrides it.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// How long a server may take to print its port.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Output lines kept per process for failure reports.
const TAIL_LINES: usize = 40;

struct Options {
    runtimes: Vec<String>,
    /// Also the rows of other clients against the Node server.
    node: bool,
    scenarios: Vec<String>,
    verbose: bool,
    list: bool,
    /// One runtime after the other (default: side by side).
    serial: bool,
}

struct Outcome {
    scenario: &'static str,
    runtime: String,
    passed: bool,
    reason: String,
    secs: f64,
    notes: Vec<String>,
    /// Known differences of the client (`KNOWN <what>`), not sio failures.
    known: Vec<String>,
    /// Files the client saved (`ARTIFACT <path>`).
    artifacts: Vec<String>,
    /// Client output and server stderr, shown for failures.
    details: Vec<String>,
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("conformance: {e}");
            eprintln!(
                "usage: conformance [--runtime <name>]... [--verbose] [--list] [scenario]..."
            );
            return ExitCode::from(2);
        }
    };
    if options.list {
        for s in scenarios::ALL {
            println!("{:<20} {}", s.name, s.what);
        }
        for case in hostile::CASES {
            println!("{:<20} {}", case.name, case.what);
        }
        for name in client_scenarios::names() {
            println!("{name:<20} the sio client against the Node server");
        }
        for (name, mode) in BROWSER_RUNS {
            println!("{name:<20} chat example in Chromium, {mode} transports (tokio)");
        }
        for (name, mode) in CHAT_CONTRACT_RUNS {
            println!("{name:<20} chat example, the guide's events, {mode} transports");
        }
        for (name, mode) in ENGINE_IO_RUNS {
            println!("{name:<20} Engine.IO echo with engine.io-client, {mode}");
        }
        println!(
            "{ENGINE_IO_EXAMPLE:<20} the engine_io_echo example with engine.io-client (tokio)"
        );
        other_clients::list();
        println!(
            "{:<20} the engine_io_client example with the engine.io server (tokio)",
            eio_client_example::NAME
        );
        println!("{ADMIN_UI:<20} the official Admin UI in Chromium against the server");
        println!("{CHAT_METRICS:<20} the chat example's /metrics and admin namespace (tokio)");
        return ExitCode::SUCCESS;
    }
    let dir = suite_dir();
    let server = match server_binary() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = ensure_npm_packages(&dir) {
        eprintln!("conformance: {e}");
        return ExitCode::from(2);
    }

    let clients = other_clients::Clients::prepare(&dir, &server, &options.scenarios);

    // The runtimes' rows run side by side, one thread per runtime: a row
    // mostly waits on its client (timers, reconnections), so three at once
    // take about a third of the wall time and little more CPU. `--serial`
    // runs them one after the other.
    let progress = Mutex::new(());
    let record = |outcomes: &mut Vec<Outcome>, outcome: Outcome| {
        let _line = progress.lock().unwrap_or_else(|e| e.into_inner());
        report_progress(&outcome, options.verbose);
        outcomes.push(outcome);
    };
    let per_runtime: Vec<Result<Vec<Outcome>, String>> = if options.serial {
        let rows =
            |runtime: &String| run_runtime(&dir, &server, &clients, runtime, &options, &record);
        options.runtimes.iter().map(rows).collect()
    } else {
        std::thread::scope(|scope| {
            let threads: Vec<_> = (options.runtimes.iter())
                .map(|runtime| {
                    let record = &record;
                    let (dir, server, clients, options) = (&dir, &server, &clients, &options);
                    scope.spawn(move || run_runtime(dir, server, clients, runtime, options, record))
                })
                .collect();
            (threads.into_iter())
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err("a runtime's thread panicked".into()))
                })
                .collect()
        })
    };
    let mut outcomes = Vec::new();
    for rows in per_runtime {
        match rows {
            Ok(rows) => outcomes.extend(rows),
            Err(e) => {
                eprintln!("conformance: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut record = |outcome| record(&mut outcomes, outcome);
    if options.node {
        other_clients::run_node(&dir, &clients, &options.scenarios, &mut record);
    }
    if options.runtimes.iter().any(|r| r == BROWSER_RUNTIME)
        && (options.scenarios.is_empty()
            || options.scenarios.iter().any(|s| s == ENGINE_IO_EXAMPLE))
    {
        let outcome = run_engine_io_example(&dir, &server);
        record(outcome);
    }
    if options.runtimes.iter().any(|r| r == BROWSER_RUNTIME)
        && (options.scenarios.is_empty()
            || options
                .scenarios
                .iter()
                .any(|s| s == eio_client_example::NAME))
    {
        let started = Instant::now();
        let mut outcome = new_outcome(eio_client_example::NAME, BROWSER_RUNTIME);
        let ran = chat_binary(&server, "engine_io_client")
            .and_then(|example| eio_client_example::run(&dir, &example, free_port()?));
        match ran {
            Ok(()) => outcome.passed = true,
            Err(reason) => outcome.reason = reason,
        }
        outcome.secs = started.elapsed().as_secs_f64();
        record(outcome);
    }
    if options.runtimes.iter().any(|r| r == BROWSER_RUNTIME)
        && (options.scenarios.is_empty() || options.scenarios.iter().any(|s| s == CHAT_METRICS))
    {
        let outcome = run_chat_metrics(&dir, &server);
        record(outcome);
    }
    if options.runtimes.iter().any(|r| r == BROWSER_RUNTIME) {
        for (name, mode) in BROWSER_RUNS {
            if !options.scenarios.is_empty() && !options.scenarios.iter().any(|s| s == name) {
                continue;
            }
            let outcome = run_browser(&dir, &server, name, mode);
            record(outcome);
        }
    }
    print_table(&outcomes);
    let artifacts: Vec<&String> = outcomes.iter().flat_map(|o| &o.artifacts).collect();
    if !artifacts.is_empty() {
        println!("screenshots:");
        for path in artifacts {
            println!("  {path}");
        }
        println!();
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    println!("{} passed, {} failed", outcomes.len() - failed, failed);
    if failed == 0 && !outcomes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The `client-*` rows of `runtime` (those named, when any scenario is).
fn run_client_direction(
    dir: &Path,
    runtime: &str,
    options: &Options,
    mut record: impl FnMut(Outcome),
) -> Result<(), String> {
    let named = !options.scenarios.is_empty();
    if named && !client_scenarios::names().any(|n| options.scenarios.iter().any(|s| s == n)) {
        return Ok(());
    }
    client_scenarios::run(dir, runtime, &options.scenarios, |row| {
        let outcome = Outcome {
            scenario: row.scenario,
            runtime: runtime.to_owned(),
            passed: row.outcome.is_ok(),
            reason: row.outcome.clone().err().unwrap_or_default(),
            secs: row.secs,
            notes: Vec::new(),
            known: Vec::new(),
            artifacts: Vec::new(),
            details: Vec::new(),
        };
        record(outcome);
    })
    .map(|_| ())
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        runtimes: Vec::new(),
        node: false,
        scenarios: Vec::new(),
        verbose: false,
        list: false,
        serial: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runtime" => {
                let name = args.next().ok_or("--runtime needs a name")?;
                if name == other_clients::NODE {
                    options.node = true;
                    continue;
                }
                if !RUNTIMES.contains(&name.as_str()) {
                    return Err(format!("unknown runtime {name:?}; known: {RUNTIMES:?}"));
                }
                options.runtimes.push(name);
            }
            "-v" | "--verbose" => options.verbose = true,
            "--list" => options.list = true,
            "--serial" => options.serial = true,
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            "hostile" => {
                let cases = hostile::CASES.iter().map(|c| c.name.to_owned());
                options.scenarios.extend(cases);
            }
            name => {
                let client_side = client_scenarios::names().any(|n| n == name);
                if sio_conformance::scenario(name).is_none()
                    && hostile::case(name).is_none()
                    && !client_side
                    && !BROWSER_RUNS.iter().any(|(b, _)| *b == name)
                    && !CHAT_CONTRACT_RUNS.iter().any(|(c, _)| *c == name)
                    && !ENGINE_IO_RUNS.iter().any(|(e, _)| *e == name)
                    && name != ENGINE_IO_EXAMPLE
                    && !other_clients::is_row(name)
                    && name != eio_client_example::NAME
                    && name != ADMIN_UI
                    && name != CHAT_METRICS
                {
                    return Err(format!("unknown scenario {name:?} (see --list)"));
                }
                options.scenarios.push(name.to_owned());
            }
        }
    }
    if options.runtimes.is_empty() && !options.node {
        options.runtimes = RUNTIMES.iter().map(|r| (*r).to_owned()).collect();
        options.node = true;
    }
    Ok(options)
}

/// `conformance/`: the client scripts and the npm lockfile.
fn suite_dir() -> PathBuf {
    std::env::var_os("SIO_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn server_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own path: {e}"))?;
    let name = format!("scenario-server{}", std::env::consts::EXE_SUFFIX);
    let path = exe.with_file_name(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build -p sio-conformance --bins`",
            path.display()
        ))
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Runs `npm ci` unless npm's record of the installed tree
/// (`node_modules/.package-lock.json`) is newer than the lockfile.
fn ensure_npm_packages(dir: &Path) -> Result<(), String> {
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let wanted = [dir.join("package-lock.json"), dir.join("package.json")]
        .iter()
        .filter_map(|p| modified(p))
        .max();
    let fresh = matches!((installed, wanted), (Some(i), Some(w)) if i >= w);
    if fresh {
        return Ok(());
    }
    println!("npm ci (node_modules missing or older than package-lock.json)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("npm ci failed: {status}"))
    }
}

/// `scenario-server <runtime> <scenario> [port]`, under `ulimit -n
/// <fd_limit>` when one is given (the shell execs the server, so the pid
/// the runner holds is the server's).
fn start_scenario_server(
    binary: &Path,
    runtime: &str,
    scenario: &str,
    port: Option<u16>,
    fd_limit: Option<u32>,
    env: &[(&str, &str)],
) -> Result<(Server, u16), String> {
    let mut command = match fd_limit {
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(binary);
            sh
        }
        None => Command::new(binary),
    };
    command.args([runtime, scenario]).envs(env.iter().copied());
    if let Some(port) = port {
        command.arg(port.to_string());
    }
    start_server(command, "scenario server", |line| {
        line.strip_prefix("PORT ")
            .and_then(|p| p.trim().parse::<u16>().ok())
    })
}

fn new_outcome(scenario: &'static str, runtime: &str) -> Outcome {
    Outcome {
        scenario,
        runtime: runtime.to_owned(),
        passed: false,
        reason: String::new(),
        secs: 0.0,
        notes: Vec::new(),
        known: Vec::new(),
        artifacts: Vec::new(),
        details: Vec::new(),
    }
}

/// Runs one client script against a fresh server.
fn run_one(dir: &Path, binary: &Path, runtime: &str, scenario: &'static str) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(scenario, runtime);
    match start_scenario_server(binary, runtime, scenario, None, None, &[]) {
        Ok((mut server, port)) => {
            let client = Client::new(dir, scenario, port, CLIENT_TIMEOUT);
            let mut restart = |server: &mut Server| -> Result<(), String> {
                // The old one must be gone before the new one takes its port.
                server.stop();
                let (new, new_port) =
                    start_scenario_server(binary, runtime, scenario, Some(port), None, &[])?;
                if new_port != port {
                    return Err(format!("restarted server took port {new_port}, not {port}"));
                }
                *server = new;
                Ok(())
            };
            client.run(&mut server, &mut restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

/// One Engine.IO echo run: `scenario-server <runtime> engine-io-echo` and
/// `node clients/engine-io-echo.js <url> <mode>` (npm engine.io-client).
fn run_engine_io(
    dir: &Path,
    binary: &Path,
    runtime: &str,
    name: &'static str,
    mode: &str,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(name, runtime);
    let echo = sio_conformance::engine_io_echo::NAME;
    match start_scenario_server(binary, runtime, echo, None, None, &[]) {
        Ok((mut server, port)) => {
            let mut client = Client::new(dir, echo, port, CLIENT_TIMEOUT);
            client.args = vec![mode.to_owned()];
            let mut no_restart =
                |_: &mut Server| -> Result<(), String> { Err("no restart here".into()) };
            client.run(&mut server, &mut no_restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

/// The Engine.IO echo example itself (runtime-tokio/examples), answering
/// the npm engine.io-client over polling then WebSocket.
fn run_engine_io_example(dir: &Path, sibling: &Path) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(ENGINE_IO_EXAMPLE, BROWSER_RUNTIME);
    let echo = sio_conformance::engine_io_echo::NAME;
    let server = chat_binary(sibling, "engine_io_echo").and_then(|binary| {
        let port = free_port()?;
        let mut command = Command::new(binary);
        command.env("PORT", port.to_string());
        start_server(command, "engine_io_echo example", |line| {
            line.strip_prefix("listening on http://127.0.0.1:")
                .and_then(|rest| rest.split('/').next())
                .and_then(|p| p.trim().parse::<u16>().ok())
        })
    });
    match server {
        Ok((mut server, port)) => {
            let mut client = Client::new(dir, echo, port, CLIENT_TIMEOUT);
            client.args = vec!["upgrade".to_owned()];
            let mut no_restart =
                |_: &mut Server| -> Result<(), String> { Err("no restart here".into()) };
            client.run(&mut server, &mut no_restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

/// One hostile case: a fresh hostile server and the case's attack script.
fn run_hostile(dir: &Path, binary: &Path, runtime: &str, case: &'static hostile::Case) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(case.name, runtime);
    let server = start_scenario_server(
        binary,
        runtime,
        hostile::SERVER.name,
        None,
        case.fd_limit,
        hostile::SERVER_ENV,
    );
    match server {
        Ok((mut server, port)) => {
            let script = format!("hostile/{}", case.name.trim_start_matches("hostile-"));
            let mut client = Client::new(dir, &script, port, HOSTILE_TIMEOUT);
            client.env = vec![(
                "CLIENT_TIMEOUT_MS",
                (HOSTILE_TIMEOUT.as_millis() - 2000).to_string(),
            )];
            let mut no_restart =
                |_: &mut Server| Err("the hostile cases cannot restart the server".to_owned());
            client.run(&mut server, &mut no_restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

/// The chat example of `runtime`, as its crate names it.
fn chat_example(runtime: &str) -> &'static str {
    match runtime {
        "smol" => "smol_chat",
        "async-std" => "async_std_chat",
        _ => "chat",
    }
}

/// The chat example `example` of the target directory that `sibling` (a
/// binary of this package) is in: `examples/<example>` beside it.
fn chat_binary(sibling: &Path, example: &str) -> Result<PathBuf, String> {
    let name = format!("{example}{}", std::env::consts::EXE_SUFFIX);
    let path = sibling
        .parent()
        .map(|dir| dir.join("examples").join(name))
        .ok_or("cannot find the target directory")?;
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: build it with `conformance/run` (cargo build --example {example})",
            path.display()
        ))
    }
}

/// A port that was free a moment ago (the chat example takes its port from
/// `PORT` and does not announce a port of its own choosing).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The chat example on a free port (tried a few times: another process may
/// take the port between the probe and the bind).
fn start_chat(binary: &Path, env: &[(&str, String)]) -> Result<(Server, u16), String> {
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let mut command = Command::new(binary);
        command
            .env("PORT", port.to_string())
            .env("CORS_ORIGIN", format!("http://127.0.0.1:{port}"))
            .env("JWT_SECRET", CHAT_SECRET)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k, v)));
        match start_server(command, "chat example", |line| {
            line.strip_prefix("chat listening on http://127.0.0.1:")
                .and_then(|p| p.trim().parse::<u16>().ok())
        }) {
            Ok(started) => return Ok(started),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn chromium_path() -> PathBuf {
    std::env::var_os("SIO_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM))
}

/// One browser run: the chat example and `clients/browser-chat.js`.
fn run_browser(dir: &Path, sibling: &Path, name: &'static str, mode: &str) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(name, BROWSER_RUNTIME);
    let chromium = chromium_path();
    let prepared = if chromium.is_file() {
        // The msgpack run: the chat on the MessagePack parser, its page on
        // socket.io-client's MessagePack bundle.
        let env = match mode {
            "msgpack" => vec![("CHAT_PARSER", "msgpack".to_owned())],
            _ => Vec::new(),
        };
        chat_binary(sibling, chat_example(BROWSER_RUNTIME)).and_then(|chat| start_chat(&chat, &env))
    } else {
        Err(format!(
            "Chromium is missing: {} not found (install it: apt-get install chromium chromium-driver; .ci/run does)",
            chromium.display()
        ))
    };
    match prepared {
        Ok((mut server, port)) => {
            let mut client = Client::new(dir, "browser-chat", port, BROWSER_TIMEOUT);
            let artifacts = dir.join("artifacts");
            client.args = vec![mode.to_owned(), artifacts.display().to_string()];
            client.env = vec![
                (
                    "CLIENT_TIMEOUT_MS",
                    (BROWSER_TIMEOUT.as_millis() - 5000).to_string(),
                ),
                ("SIO_CHROMIUM", chromium.display().to_string()),
            ];
            client.label = "chat";
            let mut no_restart =
                |_: &mut Server| Err("the browser runs cannot restart the server".to_owned());
            client.run(&mut server, &mut no_restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

/// One chat contract run: `runtime`'s chat example and
/// `clients/chat-guide.js` with `transports`.
fn run_chat_contract(
    dir: &Path,
    sibling: &Path,
    runtime: &str,
    name: &'static str,
    transports: &str,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = new_outcome(name, runtime);
    let window = ("CHAT_RATE_WINDOW_MS", CHAT_RATE_WINDOW_MS.to_string());
    let prepared = chat_binary(sibling, chat_example(runtime))
        .and_then(|chat| start_chat(&chat, std::slice::from_ref(&window)));
    match prepared {
        Ok((mut server, port)) => {
            let mut client = Client::new(dir, "chat-guide", port, CHAT_CONTRACT_TIMEOUT);
            client.args = vec![transports.to_owned()];
            client.env = vec![
                (
                    "CLIENT_TIMEOUT_MS",
                    (CHAT_CONTRACT_TIMEOUT.as_millis() - 5000).to_string(),
                ),
                ("JWT_SECRET", CHAT_SECRET.to_owned()),
                window,
            ];
            client.label = "chat";
            let mut no_restart =
                |_: &mut Server| Err("the chat runs cannot restart the server".to_owned());
            client.run(&mut server, &mut no_restart, &mut outcome);
        }
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

fn report_progress(outcome: &Outcome, verbose: bool) {
    let verdict = match (outcome.passed, outcome.known.is_empty()) {
        (true, true) => "PASS",
        (true, false) => "PASS, known client difference",
        (false, _) => "FAIL",
    };
    println!(
        "{:<8} {:<20} {verdict} ({:.1} s)",
        outcome.runtime, outcome.scenario, outcome.secs
    );
    if !outcome.passed {
        println!("    reason: {}", outcome.reason);
    }
    for note in &outcome.notes {
        println!("    note: {note}");
    }
    for known in &outcome.known {
        println!("    known: {known}");
    }
    for path in &outcome.artifacts {
        println!("    saved: {path}");
    }
    if !outcome.passed || verbose {
        for line in &outcome.details {
            println!("    | {line}");
        }
    }
}

fn print_table(outcomes: &[Outcome]) {
    let mut runtimes: Vec<&str> = Vec::new();
    for o in outcomes {
        if !runtimes.contains(&o.runtime.as_str()) {
            runtimes.push(&o.runtime);
        }
    }
    let mut scenario_names: Vec<&str> = Vec::new();
    for o in outcomes {
        if !scenario_names.contains(&o.scenario) {
            scenario_names.push(o.scenario);
        }
    }
    println!();
    print!("{:<24}", "scenario");
    for r in &runtimes {
        print!(" | {r:<10}");
    }
    println!();
    println!("{}", "-".repeat(24 + runtimes.len() * 13));
    let mut failures = Vec::new();
    for name in &scenario_names {
        print!("{name:<24}");
        for r in &runtimes {
            let cell = outcomes
                .iter()
                .find(|o| o.scenario == *name && o.runtime == *r)
                .map(|o| {
                    if o.passed && o.known.is_empty() {
                        "PASS"
                    } else if o.passed {
                        "KNOWN"
                    } else {
                        failures.push(o);
                        "FAIL"
                    }
                })
                .unwrap_or("-");
            print!(" | {cell:<10}");
        }
        println!();
    }
    print_known(outcomes);
    if !failures.is_empty() {
        println!();
        for o in failures {
            println!("FAIL {}/{}: {}", o.scenario, o.runtime, o.reason);
        }
    }
    println!();
}

/// The known differences of clients, once per row and text, with the
/// runtimes that saw them.
fn print_known(outcomes: &[Outcome]) {
    let mut seen: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for o in outcomes.iter().filter(|o| o.passed) {
        for text in &o.known {
            match seen
                .iter_mut()
                .find(|(s, t, _)| *s == o.scenario && t == text)
            {
                Some((_, _, runtimes)) => runtimes.push(&o.runtime),
                None => seen.push((o.scenario, text, vec![&o.runtime])),
            }
        }
    }
    if seen.is_empty() {
        return;
    }
    println!();
    println!("KNOWN: differences of those clients, the Node server sees them too (clients/KNOWN-DIFFERENCES.md):");
    for (scenario, text, runtimes) in seen {
        println!("KNOWN {scenario} ({}): {text}", runtimes.join(", "));
    }
}
