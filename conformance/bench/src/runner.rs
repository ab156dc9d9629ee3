//! What the bench runners (`bench`, `redis_bench`) share: their common
//! options, where processes are pinned, and how figures are reported.

use std::path::PathBuf;
use std::process::{Command, Stdio};

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
