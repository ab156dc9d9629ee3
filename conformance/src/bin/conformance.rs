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
//! server. Then, per runtime, the client direction: the `client-*` rows
//! (`sio_conformance::client_scenarios`: the sio client against the Node
//! `socket.io` server, in this process). It ends with a table and `N passed, N failed`; the exit status is
//! non-zero when anything failed.
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sio_conformance::{client_scenarios, scenarios, RUNTIMES};

/// How long one client script may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to print its port.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Output lines kept per process for failure reports.
const TAIL_LINES: usize = 40;

struct Options {
    runtimes: Vec<String>,
    scenarios: Vec<String>,
    verbose: bool,
    list: bool,
}

struct Outcome {
    scenario: &'static str,
    runtime: String,
    passed: bool,
    reason: String,
    secs: f64,
    notes: Vec<String>,
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
        for name in client_scenarios::names() {
            println!("{name:<20} the sio client against the Node server");
        }
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

    let mut outcomes = Vec::new();
    for runtime in &options.runtimes {
        for scenario in scenarios::ALL {
            if !options.scenarios.is_empty()
                && !options.scenarios.iter().any(|s| s == scenario.name)
            {
                continue;
            }
            let outcome = run_one(&dir, &server, runtime, scenario.name);
            report_progress(&outcome, options.verbose);
            outcomes.push(outcome);
        }
        if let Err(e) = run_client_direction(&dir, runtime, &options, &mut outcomes) {
            eprintln!("conformance: {e}");
            return ExitCode::from(2);
        }
    }
    print_table(&outcomes);
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
    outcomes: &mut Vec<Outcome>,
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
            details: Vec::new(),
        };
        report_progress(&outcome, options.verbose);
        outcomes.push(outcome);
    })
    .map(|_| ())
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        runtimes: Vec::new(),
        scenarios: Vec::new(),
        verbose: false,
        list: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runtime" => {
                let name = args.next().ok_or("--runtime needs a name")?;
                if !RUNTIMES.contains(&name.as_str()) {
                    return Err(format!("unknown runtime {name:?}; known: {RUNTIMES:?}"));
                }
                options.runtimes.push(name);
            }
            "-v" | "--verbose" => options.verbose = true,
            "--list" => options.list = true,
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            name => {
                let client_side = client_scenarios::names().any(|n| n == name);
                if sio_conformance::scenario(name).is_none() && !client_side {
                    return Err(format!("unknown scenario {name:?} (see --list)"));
                }
                options.scenarios.push(name.to_owned());
            }
        }
    }
    if options.runtimes.is_empty() {
        options.runtimes = RUNTIMES.iter().map(|r| (*r).to_owned()).collect();
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

/// The last lines a process wrote, gathered by a thread.
#[derive(Clone, Default)]
struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn collect(&self, stream: impl Read + Send + 'static) -> JoinHandle<()> {
        let tail = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                match line {
                    Ok(line) => tail.push(line),
                    Err(_) => break,
                }
            }
        })
    }
}

/// A running scenario server; killed on drop.
struct Server {
    child: Child,
    // Held open: the server exits when it closes.
    _stdin: Option<ChildStdin>,
    stderr: Tail,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(binary: &Path, runtime: &str, scenario: &str) -> Result<(Server, u16), String> {
    let mut child = Command::new(binary)
        .args([runtime, scenario])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stderr = Tail::default();
    if let Some(err) = child.stderr.take() {
        stderr.collect(err);
    }
    let stdout = child.stdout.take();
    let server = Server {
        _stdin: child.stdin.take(),
        child,
        stderr,
    };
    let (tx, rx) = mpsc::channel();
    if let Some(out) = stdout {
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
    }
    let first = match rx.recv_timeout(SERVER_START_TIMEOUT) {
        Ok(Some(Ok(line))) => line,
        Ok(_) => {
            return Err(server_died(
                "server exited before printing its port",
                &server,
            ))
        }
        Err(_) => return Err(server_died("server printed no port within 10 s", &server)),
    };
    let port = first
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse::<u16>().ok())
        .ok_or_else(|| format!("server printed {first:?}, expected `PORT <n>`"))?;
    Ok((server, port))
}

fn server_died(what: &str, server: &Server) -> String {
    match server.stderr.lines().last() {
        Some(line) => format!("{what}: {line}"),
        None => what.to_owned(),
    }
}

/// Runs one client script against a fresh server.
fn run_one(dir: &Path, binary: &Path, runtime: &str, scenario: &'static str) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome {
        scenario,
        runtime: runtime.to_owned(),
        passed: false,
        reason: String::new(),
        secs: 0.0,
        notes: Vec::new(),
        details: Vec::new(),
    };
    match start_server(binary, runtime, scenario) {
        Ok((mut server, port)) => run_client(dir, scenario, port, &mut server, &mut outcome),
        Err(reason) => outcome.reason = reason,
    }
    outcome.secs = started.elapsed().as_secs_f64();
    outcome
}

fn run_client(dir: &Path, scenario: &str, port: u16, server: &mut Server, outcome: &mut Outcome) {
    let script = dir.join("clients").join(format!("{scenario}.js"));
    let url = format!("http://127.0.0.1:{port}");
    let mut client = match Command::new("node")
        .arg(&script)
        .arg(&url)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            outcome.reason = format!("cannot run node: {e}");
            return;
        }
    };
    let stdout = Tail::default();
    let stderr = Tail::default();
    let readers: Vec<JoinHandle<()>> = [
        client.stdout.take().map(|s| stdout.collect(s)),
        client.stderr.take().map(|s| stderr.collect(s)),
    ]
    .into_iter()
    .flatten()
    .collect();

    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let status = loop {
        match client.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => {
                outcome.reason = format!("cannot wait for node: {e}");
                break None;
            }
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            outcome.reason =
                server_died(&format!("server exited during the run ({status})"), server);
            break None;
        }
        if Instant::now() >= deadline {
            outcome.reason = format!(
                "client did not finish within {} s",
                CLIENT_TIMEOUT.as_secs()
            );
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = client.kill();
        let _ = client.wait();
    }
    for reader in readers {
        let _ = reader.join();
    }

    let out = stdout.lines();
    outcome.notes = out
        .iter()
        .filter_map(|l| l.strip_prefix("NOTE "))
        .map(str::to_owned)
        .collect();
    if let Some(status) = status {
        outcome.passed = status.success();
        if !outcome.passed {
            outcome.reason = out
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("FAIL: "))
                .map(str::to_owned)
                .or_else(|| stderr.lines().last().cloned())
                .unwrap_or_else(|| format!("client exited with {status}"));
        }
    }
    if !outcome.passed {
        let mut details = Vec::new();
        details.extend(out.iter().map(|l| format!("client: {l}")));
        details.extend(stderr.lines().iter().map(|l| format!("client stderr: {l}")));
        details.extend(
            server
                .stderr
                .lines()
                .iter()
                .map(|l| format!("server stderr: {l}")),
        );
        outcome.details = details;
    }
}

fn report_progress(outcome: &Outcome, verbose: bool) {
    let verdict = if outcome.passed { "PASS" } else { "FAIL" };
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
                    if o.passed {
                        "PASS"
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
    if !failures.is_empty() {
        println!();
        for o in failures {
            println!("FAIL {}/{}: {}", o.scenario, o.runtime, o.reason);
        }
    }
    println!();
}
