//! Redis services from scripts/redis-services (a 3-master cluster, a TLS
//! server with its CA), torn down when dropped (the script stops when its
//! stdin closes).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct Services {
    /// `URL` lines: the cluster's masters, or the TLS server.
    pub urls: Vec<String>,
    /// The CA that signed the TLS server's certificate (PEM file).
    pub ca: Option<PathBuf>,
    /// A CA that did not.
    pub wrong_ca: Option<PathBuf>,
    /// Every other `NAME value` line (the Sentinel's MASTER, MASTER_URL...).
    pub facts: Vec<(String, String)>,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Services {
    /// `kind`: `cluster` or `tls`.
    pub fn start(kind: &str) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/redis-services");
        let mut child = Command::new(script)
            .arg(kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start scripts/redis-services");
        let stdin = child.stdin.take().expect("its stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("its stdout"));
        let (mut urls, mut ca, mut wrong_ca, mut facts) = (Vec::new(), None, None, Vec::new());
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).expect("read redis-services") == 0 {
                break;
            }
            let line = line.trim_end();
            match line.split_once(' ') {
                Some(("URL", url)) => urls.push(url.to_string()),
                Some(("CA", path)) => ca = Some(PathBuf::from(path)),
                Some(("WRONG_CA", path)) => wrong_ca = Some(PathBuf::from(path)),
                Some((name, value)) => facts.push((name.to_string(), value.to_string())),
                _ if line == "READY" => {
                    return Self {
                        urls,
                        ca,
                        wrong_ca,
                        facts,
                        child,
                        stdin,
                        stdout,
                    }
                }
                _ => {}
            }
        }
        panic!("scripts/redis-services {kind} ended before READY");
    }
}

impl Services {
    /// The value of the `name` line.
    pub fn fact(&self, name: &str) -> &str {
        self.facts
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("redis-services said no {name}"))
    }

    /// Kills cluster master `n` (SIGKILL), and waits until it is gone.
    pub fn kill_node(&mut self, n: usize) {
        self.command(&format!("kill {n}"));
    }

    /// Starts cluster master `n` again, and waits until it answers.
    pub fn start_node(&mut self, n: usize) {
        self.command(&format!("start {n}"));
    }

    fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to redis-services");
        self.stdin.flush().expect("flush");
        let mut answer = String::new();
        self.stdout
            .read_line(&mut answer)
            .expect("read redis-services");
        assert_eq!(answer.trim_end(), "DONE", "redis-services: {line}");
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        // Closing stdin (dropped with self) ends the script; SIGTERM too.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
