//! Runs the bench: for each server (sio-tokio, socketioxide, Node
//! socket.io) and each measurement, starts a fresh server, drives it with
//! the load generator in its own process, and keeps the median of the
//! repetitions. Prints a table with the ratios and writes the JSON.
//!
//! `bench [--quick] [--reps N] [--servers sio,socketioxide,node] [--out FILE]`
//! (normally through `scripts/bench`).
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use sio_bench::runner::{
    max_open_files, parse_options, pinning, ratio, repeat, report, Error, Figure, Paths, Pins,
    Planned, Process,
};

const SERVERS: [&str; 3] = ["sio", "socketioxide", "node"];
const PORT: u16 = 3917;

/// One measurement: a load generator scenario with its arguments, and the
/// figures of its output shown in the table.
struct Measurement {
    label: String,
    scenario: &'static str,
    args: Vec<(String, String)>,
    /// Clients connected at once (file descriptors needed on each side).
    clients: usize,
    figures: &'static [Figure],
    /// Environment for the servers: set for the rows measured on a
    /// runtime other than tokio's default (the Rust servers only).
    server_env: &'static [(&'static str, &'static str)],
    /// Set for the rows of sio on another runtime crate (the binary that
    /// serves the app on it, on that runtime's defaults): sio only.
    sio_bin: Option<&'static str>,
}

impl Planned for Measurement {
    fn label(&self) -> &str {
        &self.label
    }
    fn figures(&self) -> &'static [Figure] {
        self.figures
    }
    /// Node has one runtime: not run again for a row on another one; a
    /// row of sio on smol or async-std is sio's alone.
    fn runs_on(&self, server: &str) -> bool {
        if self.sio_bin.is_some() {
            return server == "sio";
        }
        server != "node" || self.server_env.is_empty()
    }
    fn server_env(&self) -> Option<&'static [(&'static str, &'static str)]> {
        Some(self.server_env)
    }
}

const ECHO_FIGURES: &[Figure] = &[
    Figure("round_trips_per_sec", "rt/s", true),
    Figure("p50_us", "p50 µs", false),
    Figure("p99_us", "p99 µs", false),
    Figure("p99_over_p50", "p99/p50", false),
    Figure("server_cpu_us_per_round_trip", "CPU µs/rt", false),
    // How busy the server's core was: far below 1 with the load generator
    // also idle means other processes held the cores (rates are then noise).
    Figure("server_cpu_share", "server busy", true),
    Figure("loadgen_cpu_share", "loadgen busy", true),
];
/// The echo figures for a second runtime: its tails, its rate and what
/// the fairness costs in CPU.
const TAIL_FIGURES: &[Figure] = &[
    Figure("round_trips_per_sec", "rt/s", true),
    Figure("p50_us", "p50 µs", false),
    Figure("p99_us", "p99 µs", false),
    Figure("p99_over_p50", "p99/p50", false),
    Figure("server_cpu_us_per_round_trip", "CPU µs/rt", false),
];

/// The reference row: tokio's multi-thread scheduler with at most 8 I/O
/// events taken per poll of the driver made while tasks wait, which made
/// one task per connection fair before sio's connection groups (and still
/// helps connections served through the tower layer): NOTES.md, "Tails at
/// 1,000 echo clients" and "Fourth pass".
const RECOMMENDED_RUNTIME: &[(&str, &str)] = &[("BENCH_IO_EVENTS_BUSY", "8")];

const FANOUT_FIGURES: &[Figure] = &[
    Figure("deliveries_per_sec", "deliv/s", true),
    Figure("last_delivery_ms_median", "ms to last", false),
    Figure("server_cpu_us_per_delivery", "CPU µs/deliv", false),
];
const CONNECT_FIGURES: &[Figure] = &[
    Figure("handshakes_per_sec", "hs/s", true),
    Figure("server_cpu_us_per_handshake", "CPU µs/hs", false),
    Figure("rss_bytes_per_connection", "RSS B/conn", false),
];

fn plan(quick: bool, max_clients: usize) -> (Vec<Measurement>, Vec<String>) {
    let kv = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let (secs, warmup) = if quick { ("1", "0.5") } else { ("3", "1") };
    let mut plan = Vec::new();
    let mut skipped = Vec::new();
    for clients in [1usize, 100, 1000, 2000] {
        plan.push(Measurement {
            label: format!("echo, {clients} client(s)"),
            scenario: "echo",
            args: kv(&[
                ("clients", clients.to_string()),
                ("secs", secs.into()),
                ("warmup", warmup.into()),
            ]),
            clients,
            figures: ECHO_FIGURES,
            server_env: &[],
            sio_bin: None,
        });
    }
    // Tails on the other runtimes' defaults (sio connection groups make
    // them fair without configuration: NOTES.md, "Fourth pass").
    for (runtime, bin) in [
        ("smol", "server_sio_smol"),
        ("async-std", "server_sio_async_std"),
    ] {
        for clients in [1000usize, 2000] {
            plan.push(Measurement {
                label: format!("echo, {clients} clients, sio on {runtime} (defaults)"),
                scenario: "echo",
                args: kv(&[
                    ("clients", clients.to_string()),
                    ("secs", secs.into()),
                    ("warmup", warmup.into()),
                ]),
                clients,
                figures: TAIL_FIGURES,
                server_env: &[],
                sio_bin: Some(bin),
            });
        }
    }
    // The same 1,000 clients once more, both Rust servers on the
    // recommended runtime (Node has one runtime: not run again).
    plan.push(Measurement {
        label: "echo, 1000 clients, tokio busy I/O batch 8".into(),
        scenario: "echo",
        args: kv(&[
            ("clients", "1000".into()),
            ("secs", secs.into()),
            ("warmup", warmup.into()),
        ]),
        clients: 1000,
        figures: TAIL_FIGURES,
        server_env: RECOMMENDED_RUNTIME,
        sio_bin: None,
    });
    let fanouts: &[(usize, usize)] = if quick {
        &[(1000, 10)]
    } else {
        &[(1000, 30), (10_000, 10)]
    };
    for &(clients, rounds) in fanouts {
        plan.push(Measurement {
            label: format!("fanout to {clients}"),
            scenario: "fanout",
            args: kv(&[
                ("clients", clients.to_string()),
                ("rounds", rounds.to_string()),
            ]),
            clients,
            figures: FANOUT_FIGURES,
            server_env: &[],
            sio_bin: None,
        });
    }
    let idle = if quick { 1000 } else { 5000 };
    plan.push(Measurement {
        label: format!("connect {idle}"),
        scenario: "connect",
        args: kv(&[("clients", idle.to_string())]),
        clients: idle,
        figures: CONNECT_FIGURES,
        server_env: &[],
        sio_bin: None,
    });
    // socket.io-client's default: open and CONNECT by polling, then the
    // upgrade to WebSocket (one echo round trip ends each handshake).
    let upgraded = if quick { 500 } else { 2000 };
    plan.push(Measurement {
        label: format!("connect {upgraded}, polling+upgrade"),
        scenario: "connect-polling",
        args: kv(&[("clients", upgraded.to_string())]),
        clients: upgraded,
        figures: CONNECT_FIGURES,
        server_env: &[],
        sio_bin: None,
    });
    plan.retain(|m| {
        let fits = m.clients + 200 <= max_clients;
        if !fits {
            skipped.push(format!(
                "{}: needs {} open files, `ulimit -n` is {max_clients}",
                m.label,
                m.clients + 200
            ));
        }
        fits
    });
    (plan, skipped)
}

/// Starts server `name` on [`PORT`], pinned by `pin`, with `env` beside
/// the port, and waits until it listens; sio from `sio_bin` when set.
fn start_server(
    name: &str,
    paths: &Paths,
    pin: &[String],
    env: &[(&str, &str)],
    sio_bin: Option<&str>,
) -> Result<Process, Error> {
    let program: Vec<String> = match name {
        "sio" => vec![paths
            .bin_dir
            .join(sio_bin.unwrap_or("server_sio"))
            .display()
            .to_string()],
        "socketioxide" => vec![paths
            .bin_dir
            .join("server_socketioxide")
            .display()
            .to_string()],
        "node" => vec![
            "node".into(),
            paths.node_dir.join("server.js").display().to_string(),
        ],
        other => return Err(format!("unknown server {other}").into()),
    };
    let command: Vec<String> = pin.iter().cloned().chain(program).collect();
    let env: Vec<(&str, String)> = [("PORT", PORT.to_string())]
        .into_iter()
        .chain(env.iter().map(|(key, value)| (*key, value.to_string())))
        .collect();
    paths.spawn_listening(name, &command, &env, PORT)
}

fn run_once(server: &str, m: &Measurement, paths: &Paths, pins: &Pins) -> Result<Value, Error> {
    let child = start_server(server, paths, &pins.servers, m.server_env, m.sio_bin)?;
    let loadgen = paths.bin_dir.join("loadgen").display().to_string();
    let command: Vec<String> = pins
        .loadgen
        .iter()
        .cloned()
        .chain([
            loadgen,
            m.scenario.to_string(),
            format!("addr=127.0.0.1:{PORT}"),
            format!("pid={}", child.id()),
        ])
        .chain(m.args.iter().map(|(k, v)| format!("{k}={v}")))
        .collect();
    let output = Command::new(&command[0])
        .args(&command[1..])
        .stderr(Stdio::inherit())
        .output();
    drop(child);
    let output = output?;
    if !output.status.success() {
        return Err(format!(
            "loadgen failed ({}) on {server}, {}",
            output.status, m.label
        )
        .into());
    }
    let mut figures: Value = serde_json::from_slice(&output.stdout)?;
    // The tail's spread, per run (the median of the ratios is reported).
    let tail = ["p99_us", "p50_us"].map(|key| figures.get(key).and_then(Value::as_f64));
    if let (Some(spread), Some(fields)) = (ratio(tail[0], tail[1]), figures.as_object_mut()) {
        fields.insert("p99_over_p50".into(), json!(spread));
    }
    Ok(figures)
}

fn main() -> Result<(), Error> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let options = parse_options(
        &SERVERS,
        root.join("conformance/artifacts/bench/results.json"),
        |_, _| Ok(false),
    )?;
    let paths = Paths::new(&root, &options.out)?;
    let pins = pinning("server", "load generator");
    let (plan, skipped) = plan(options.quick, max_open_files());
    let runs = repeat(
        "sio bench",
        &options,
        &pins,
        &plan,
        &skipped,
        |server, m| run_once(server, m, &paths, &pins),
    );
    report(
        &SERVERS,
        &options,
        &pins,
        &plan,
        &skipped,
        runs,
        &[
            "Ratios are sio's figure divided by the other's: below 1 is better for sio on time, CPU and memory, above 1 on rates.",
            "CPU is the server's utime+stime over the measured interval (per-thread schedstat sums when they agree).",
        ],
    )
}
