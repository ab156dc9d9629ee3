//! What the bench runners (`bench`, `redis_bench`) share: their common
//! options, where processes are pinned, the repetitions, and how figures
//! are reported (the table on stdout, the JSON file).

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

/// The runners' error.
pub type Error = Box<dyn std::error::Error>;

/// The options every runner takes.
pub struct RunOptions {
    /// `--quick`: one repetition, smaller counts.
    pub quick: bool,
    /// `--reps N` (default 3, or 1 with `--quick`).
    pub reps: usize,
    /// `--servers a,b`: which implementations to measure.
    pub servers: Vec<String>,
    /// `--out FILE`: where the JSON goes.
    pub out: PathBuf,
}

/// Reads the command line: the common options, and any other argument
/// offered to `extra` (with the rest of the arguments, for its value),
/// which says whether it took it.
pub fn parse_options(
    servers: &[&str],
    out: PathBuf,
    mut extra: impl FnMut(&str, &mut dyn Iterator<Item = String>) -> Result<bool, Error>,
) -> Result<RunOptions, Error> {
    let mut options = RunOptions {
        quick: false,
        reps: 0,
        servers: servers.iter().map(|s| s.to_string()).collect(),
        out,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--reps" => options.reps = args.next().ok_or("--reps N")?.parse()?,
            "--servers" => {
                options.servers = args
                    .next()
                    .ok_or("--servers a,b")?
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            "--out" => options.out = args.next().ok_or("--out FILE")?.into(),
            other => {
                if !extra(other, &mut args)? {
                    return Err(format!("unknown argument {other}").into());
                }
            }
        }
    }
    if options.reps == 0 {
        options.reps = if options.quick { 1 } else { 3 };
    }
    Ok(options)
}

/// `taskset` prefixes for the servers and for the load generator (and
/// its helpers), and a line saying where they run.
pub struct Pins {
    /// Before each server's command.
    pub servers: Vec<String>,
    /// Before the load generator's (and redis-server's) command.
    pub loadgen: Vec<String>,
    /// Where things run, for the output.
    pub note: String,
}

/// With two cores and a working `taskset`: `servers` (what the note
/// calls them) on CPU 0, `others` on the last CPU; otherwise no pinning.
pub fn pinning(servers: &str, others: &str) -> Pins {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let works = Command::new("taskset")
        .args(["-c", "1", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if cores >= 2 && works {
        let last = cores - 1;
        Pins {
            servers: vec!["taskset".into(), "-c".into(), "0".into()],
            loadgen: vec!["taskset".into(), "-c".into(), last.to_string()],
            note: format!(
                "{servers} pinned to CPU 0, {others} to CPU {last} (taskset; {cores} CPUs)"
            ),
        }
    } else {
        Pins {
            servers: Vec::new(),
            loadgen: Vec::new(),
            note: format!("not pinned ({cores} CPUs, taskset usable: {works})"),
        }
    }
}

/// The median of `values` (sorted in place); `None` when there are none.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// A figure for the table, with fewer decimals as it grows; `—` for none.
pub fn format_value(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// `a / b` when both are known and `b` is not zero.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

/// This process's soft limit on open files (1024 when unreadable): it
/// bounds how many clients a measurement can use.
pub fn max_open_files() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

/// The `p`th percentile of `sorted` (nearest rank; 0 when empty).
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A figure: its key in the load generator's JSON, its unit, and whether
/// higher is better.
pub struct Figure(pub &'static str, pub &'static str, pub bool);

/// What the runner's repetitions and report need of one measurement.
pub trait Planned {
    /// Its name in the table and the JSON.
    fn label(&self) -> &str;
    /// The figures of the load generator's output shown for it.
    fn figures(&self) -> &'static [Figure];
    /// Whether `server` is measured for it (all by default).
    fn runs_on(&self, _server: &str) -> bool {
        true
    }
    /// The servers' environment, reported in its JSON rows when set.
    fn server_env(&self) -> Option<&'static [(&'static str, &'static str)]> {
        None
    }
}

/// Where a runner finds its binaries and the Node servers, and writes the
/// servers' logs (beside the JSON).
pub struct Paths {
    /// This runner's folder: the servers' and load generators' binaries.
    pub bin_dir: PathBuf,
    /// conformance/bench/node.
    pub node_dir: PathBuf,
    /// The folder of `--out`, created if missing.
    pub logs: PathBuf,
}

impl Paths {
    /// The paths for a checkout at `root` writing its JSON to `out`.
    pub fn new(root: &Path, out: &Path) -> Result<Paths, Error> {
        let bin_dir = std::env::current_exe()?
            .parent()
            .ok_or("exe dir")?
            .to_path_buf();
        let logs = out.parent().ok_or("--out has no folder")?.to_path_buf();
        std::fs::create_dir_all(&logs)?;
        Ok(Paths {
            bin_dir,
            node_dir: root.join("conformance/bench/node"),
            logs,
        })
    }
}

impl Paths {
    /// Spawns `command` (its log in `what`.log) and waits until it accepts
    /// connections on `port`, for at most 15 s.
    pub fn spawn_listening(
        &self,
        what: &str,
        command: &[String],
        env: &[(&str, String)],
        port: u16,
    ) -> Result<Process, Error> {
        let (program, args) = command.split_first().ok_or("empty command")?;
        let log_path = self.logs.join(format!("{what}.log"));
        let mut child = Command::new(program);
        child
            .args(args)
            .env_remove("RUST_LOG")
            .current_dir(&self.node_dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path)?);
        for (key, value) in env {
            child.env(key, value);
        }
        let mut child = Process(child.spawn()?);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = child.0.try_wait()? {
                return Err(format!("{what} exited: {status}; see {}", log_path.display()).into());
            }
            if Instant::now() > deadline {
                return Err(format!("{what} did not listen within 15 s").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(child)
    }
}

/// A child process killed (and reaped) when dropped.
pub struct Process(Child);

impl Process {
    /// Its process id (for the load generators' CPU readings).
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Prints what is about to be measured, then runs every measurement of
/// `plan` `options.reps` times on each server, in order; a failed run is
/// reported and left out. Gives, per measurement, each server's outputs.
pub fn repeat<M: Planned>(
    title: &str,
    options: &RunOptions,
    pins: &Pins,
    plan: &[M],
    skipped: &[String],
    mut run: impl FnMut(&str, &M) -> Result<Value, Error>,
) -> Vec<Map<String, Value>> {
    println!(
        "{title}{}: {} repetition(s), median kept",
        if options.quick { " (--quick)" } else { "" },
        options.reps
    );
    println!("{}", pins.note);
    for s in skipped {
        println!("skipped: {s}");
    }
    let started = Instant::now();
    let mut runs: Vec<Map<String, Value>> = plan.iter().map(|_| Map::new()).collect();
    for server in &options.servers {
        for (m, by_server) in plan.iter().zip(&mut runs) {
            if !m.runs_on(server) {
                continue;
            }
            let mut reps = Vec::new();
            for rep in 0..options.reps {
                eprintln!("{server}: {} ({}/{})", m.label(), rep + 1, options.reps);
                match run(server, m) {
                    Ok(v) => reps.push(v),
                    Err(e) => eprintln!("{server}: {}: {e}", m.label()),
                }
            }
            by_server.insert(server.clone(), Value::Array(reps));
        }
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    runs
}

/// Prints the table (each figure's median per server in `servers`' order,
/// and the first server's over each other's) and `notes`, and writes the
/// JSON document to `options.out`.
pub fn report<M: Planned>(
    servers: &[&str],
    options: &RunOptions,
    pins: &Pins,
    plan: &[M],
    skipped: &[String],
    runs: Vec<Map<String, Value>>,
    notes: &[&str],
) -> Result<(), Error> {
    let (first, others) = servers.split_first().ok_or("no servers")?;
    let mut table = String::from("| measurement | figure |");
    let mut rule = String::from("|---|---|");
    for name in servers
        .iter()
        .copied()
        .map(String::from)
        .chain(others.iter().map(|o| format!("{first}/{o}")))
    {
        write!(table, " {name} |")?;
        rule.push_str("---:|");
    }
    writeln!(table, "\n{rule}")?;
    let mut json_rows = Vec::new();
    for (m, by_server) in plan.iter().zip(&runs) {
        for Figure(key, unit, higher_better) in m.figures() {
            let value = |server: &&str| -> Option<f64> {
                let mut values: Vec<f64> = by_server
                    .get(*server)?
                    .as_array()?
                    .iter()
                    .filter_map(|run| run.get(*key)?.as_f64())
                    .collect();
                median(&mut values)
            };
            let values: Vec<Option<f64>> = servers.iter().map(value).collect();
            let ratios: Vec<Option<f64>> = values
                .iter()
                .skip(1)
                .map(|v| ratio(values[0], *v))
                .collect();
            write!(table, "| {} | {unit} |", m.label())?;
            for v in values.iter().chain(&ratios) {
                write!(table, " {} |", format_value(*v))?;
            }
            table.push('\n');
            let better = if *higher_better {
                "higher is better"
            } else {
                "lower is better"
            };
            let medians: Map<String, Value> = servers
                .iter()
                .zip(&values)
                .map(|(server, v)| (server.to_string(), json!(v)))
                .collect();
            let mut row = Map::new();
            row.insert("measurement".into(), json!(m.label()));
            row.insert("figure".into(), json!(key));
            row.insert("unit".into(), json!(unit));
            row.insert("better".into(), json!(better));
            if let Some(env) = m.server_env() {
                let env: Map<String, Value> = env
                    .iter()
                    .map(|(name, value)| (name.to_string(), json!(value)))
                    .collect();
                row.insert("server_env".into(), Value::Object(env));
            }
            row.insert("median".into(), Value::Object(medians));
            for (other, r) in others.iter().zip(&ratios) {
                row.insert(format!("{first}_over_{other}"), json!(r));
            }
            json_rows.push(Value::Object(row));
        }
    }
    println!("\n{table}");
    for note in notes {
        println!("{note}");
    }
    let document = json!({
        "quick": options.quick,
        "repetitions": options.reps,
        "pinning": pins.note,
        "skipped": skipped,
        "table": json_rows,
        "runs": plan.iter().zip(runs).map(|(m, r)| json!({"measurement": m.label(), "runs": r})).collect::<Vec<_>>(),
    });
    std::fs::write(&options.out, serde_json::to_string_pretty(&document)?)?;
    println!("JSON: {}", options.out.display());
    Ok(())
}
