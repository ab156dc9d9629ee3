//! Child processes of the runner: scenario servers and client programs
//! (node scripts, python-socketio scripts, the rust_socketio client), with
//! the last lines they wrote kept for failure reports.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Outcome, SERVER_START_TIMEOUT, TAIL_LINES};

/// The last lines a process wrote, gathered by a thread.
#[derive(Clone, Default)]
pub(crate) struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    pub(crate) fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub(crate) fn collect(&self, stream: impl Read + Send + 'static) -> JoinHandle<()> {
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

/// A running server (scenario server or chat example); killed on drop.
pub(crate) struct Server {
    child: Child,
    // Held open: the scenario server exits when it closes.
    _stdin: Option<ChildStdin>,
    stdout: Tail,
    stderr: Tail,
}

impl Server {
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its output, for failure reports.
    pub(crate) fn output(&self, label: &str) -> Vec<String> {
        let out = self
            .stdout
            .lines()
            .into_iter()
            .map(|l| format!("{label} stdout: {l}"));
        let err = self
            .stderr
            .lines()
            .into_iter()
            .map(|l| format!("{label} stderr: {l}"));
        out.chain(err).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `command` and waits for the stdout line that `ready` reads a port
/// from; the first line that doesn't parse as a port is kept for the error.
pub(crate) fn start_server(
    mut command: Command,
    what: &str,
    ready: fn(&str) -> Option<u16>,
) -> Result<(Server, u16), String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let stdout = Tail::default();
    let stderr = Tail::default();
    if let Some(err) = child.stderr.take() {
        stderr.collect(err);
    }
    let out = child.stdout.take();
    let server = Server {
        _stdin: child.stdin.take(),
        child,
        stdout: stdout.clone(),
        stderr,
    };
    let (tx, rx) = mpsc::channel();
    if let Some(out) = out {
        std::thread::spawn(move || {
            let mut port = None;
            // Keeps draining after the port so the server never blocks on a full pipe.
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if port.is_none() {
                    port = ready(&line);
                    if let Some(port) = port {
                        let _ = tx.send(Some(port));
                    }
                }
                stdout.push(line);
            }
            let _ = tx.send(None);
        });
    }
    match rx.recv_timeout(SERVER_START_TIMEOUT) {
        Ok(Some(port)) => Ok((server, port)),
        Ok(None) => Err(server_died(
            &format!("{what} exited before printing its port"),
            &server,
        )),
        Err(_) => Err(server_died(
            &format!(
                "{what} printed no port within {} s",
                SERVER_START_TIMEOUT.as_secs()
            ),
            &server,
        )),
    }
}

pub(crate) fn server_died(what: &str, server: &Server) -> String {
    let last = server
        .stderr
        .lines()
        .pop()
        .or_else(|| server.stdout.lines().pop());
    match last {
        Some(line) => format!("{what}: {line}"),
        None => what.to_owned(),
    }
}

/// A client run: `node clients/<script>.js <url> <args>...`, or another
/// program: `<program> <first>... <url> <args>...`.
pub(crate) struct Client {
    program: OsString,
    /// What comes before the URL (the script).
    first: Vec<OsString>,
    dir: PathBuf,
    url: String,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(&'static str, String)>,
    timeout: Duration,
    /// What the server is called in failure reports.
    pub(crate) label: &'static str,
}

/// Kills the server and starts a new one on the same port.
pub(crate) type Restart<'a> = dyn FnMut(&mut Server) -> Result<(), String> + 'a;

impl Client {
    pub(crate) fn new(dir: &Path, script: &str, port: u16, timeout: Duration) -> Self {
        let script = dir.join("clients").join(format!("{script}.js"));
        Client::program(dir, "node".as_ref(), vec![script.into()], port, timeout)
    }

    /// `<program> <first>... <url>` in `dir`.
    pub(crate) fn program(
        dir: &Path,
        program: &std::ffi::OsStr,
        first: Vec<OsString>,
        port: u16,
        timeout: Duration,
    ) -> Self {
        Client {
            program: program.to_owned(),
            first,
            dir: dir.to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            args: Vec::new(),
            env: Vec::new(),
            timeout,
            label: "server",
        }
    }

    pub(crate) fn run(
        &self,
        server: &mut Server,
        restart: &mut Restart<'_>,
        outcome: &mut Outcome,
    ) {
        let mut command = Command::new(&self.program);
        command
            .args(&self.first)
            .arg(&self.url)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let mut client = match command.spawn() {
            Ok(c) => c,
            Err(e) => {
                let program = PathBuf::from(&self.program);
                outcome.reason = format!("cannot run {}: {e}", program.display());
                return;
            }
        };
        let mut stdin = client.stdin.take();
        let stdout = Tail::default();
        let stderr = Tail::default();
        let (restart_tx, restart_rx) = mpsc::channel();
        let readers: Vec<JoinHandle<()>> = [
            client
                .stdout
                .take()
                .map(|s| collect_with_restarts(&stdout, s, restart_tx)),
            client.stderr.take().map(|s| stderr.collect(s)),
        ]
        .into_iter()
        .flatten()
        .collect();
        // Output of the servers a restart replaced.
        let mut replaced: Vec<String> = Vec::new();

        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match client.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(e) => {
                    outcome.reason = format!("cannot wait for the client: {e}");
                    break None;
                }
            }
            if restart_rx.try_recv().is_ok() {
                let old = server.output(&format!("{} (before restart)", self.label));
                let answer = match restart(server) {
                    Ok(()) => "RESTARTED".to_owned(),
                    Err(e) => format!("RESTART-FAILED {e}"),
                };
                replaced.extend(old);
                if let Some(stdin) = stdin.as_mut() {
                    let _ = writeln!(stdin, "{answer}").and_then(|()| stdin.flush());
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                outcome.reason = server_died(
                    &format!("{} exited during the run ({status})", self.label),
                    server,
                );
                break None;
            }
            if Instant::now() >= deadline {
                outcome.reason =
                    format!("client did not finish within {} s", self.timeout.as_secs());
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(stdin);
        if status.is_none() {
            let _ = client.kill();
            let _ = client.wait();
        }
        for reader in readers {
            let _ = reader.join();
        }

        let out = stdout.lines();
        outcome.notes = prefixed(&out, "NOTE ");
        outcome.known = prefixed(&out, "KNOWN ");
        outcome.artifacts = prefixed(&out, "ARTIFACT ");
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
            details.extend(replaced);
            details.extend(server.output(self.label));
            outcome.details = details;
        }
    }
}

pub(crate) fn prefixed(lines: &[String], prefix: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(str::to_owned)
        .collect()
}

/// Gathers a client's stdout and signals each `RESTART` line it prints.
pub(crate) fn collect_with_restarts(
    tail: &Tail,
    stream: impl Read + Send + 'static,
    restarts: mpsc::Sender<()>,
) -> JoinHandle<()> {
    let tail = tail.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if line == "RESTART" {
                let _ = restarts.send(());
            }
            tail.push(line);
        }
    })
}
