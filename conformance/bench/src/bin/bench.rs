//! Runs the bench: for each server (sio-tokio, socketioxide, Node
//! socket.io) and each measurement, starts a fresh server, drives it with
//! the load generator in its own process, and keeps the median of the
//! repetitions. Prints a table with the ratios and writes the JSON.
//!
//! `bench [--quick] [--reps N] [--servers sio,socketioxide,node] [--out FILE]`
//! (normally through `scripts/bench`).
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sio_bench::runner::{
    format_value, max_open_files, median, parse_options, pinning, ratio, Error, Pins,
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
}

/// A figure: its key in the load generator's JSON, its unit, and whether
/// higher is better.
struct Figure(&'static str, &'static str, bool);

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

/// The runtime README ("Picking a runtime") recommends when tails matter:
/// tokio's multi-thread scheduler with at most 8 I/O events taken per
/// poll of the driver made while tasks wait. With the default (1,024) it
/// serves the tasks of 1,000 busy clients unfairly: NOTES.md, "Tails at
/// 1,000 echo clients".
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
    for clients in [1usize, 100, 1000] {
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
        });
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

struct Paths {
    bin_dir: PathBuf,
    node_dir: PathBuf,
    logs: PathBuf,
}

fn start_server(
    name: &str,
    paths: &Paths,
    pin: &[String],
    env: &[(&str, &str)],
) -> Result<Child, Error> {
    let program: Vec<String> = match name {
        "sio" => vec![paths.bin_dir.join("server_sio").display().to_string()],
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
    let command: Vec<&String> = pin.iter().chain(program.iter()).collect();
    let log = std::fs::File::create(paths.logs.join(format!("{name}.log")))?;
    let mut child = Command::new(command[0])
        .args(&command[1..])
        .env("PORT", PORT.to_string())
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .current_dir(&paths.node_dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], PORT));
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = child.try_wait()? {
            return Err(format!(
                "{name} server exited: {status}; see {}",
                paths.logs.display()
            )
            .into());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("{name} server did not listen within 15 s").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(child)
}

fn run_once(server: &str, m: &Measurement, paths: &Paths, pins: &Pins) -> Result<Value, Error> {
    let mut child = start_server(server, paths, &pins.servers, m.server_env)?;
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
    let _ = child.kill();
    let _ = child.wait();
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
    let bin_dir = std::env::current_exe()?
        .parent()
        .ok_or("exe dir")?
        .to_path_buf();
    let out_dir = options
        .out
        .parent()
        .ok_or("--out has no folder")?
        .to_path_buf();
    std::fs::create_dir_all(&out_dir)?;
    let paths = Paths {
        bin_dir,
        node_dir: root.join("conformance/bench/node"),
        logs: out_dir.clone(),
    };
    let pins = pinning("server", "load generator");
    let files = max_open_files();
    let (plan, skipped) = plan(options.quick, files);
    println!(
        "sio bench{}: {} repetition(s), median kept",
        if options.quick { " (--quick)" } else { "" },
        options.reps
    );
    println!("{}", pins.note);
    for s in &skipped {
        println!("skipped: {s}");
    }
    let started = Instant::now();
    // results[measurement][server] = runs
    let mut runs: Vec<Map<String, Value>> = plan.iter().map(|_| Map::new()).collect();
    for server in &options.servers {
        for (i, m) in plan.iter().enumerate() {
            if server == "node" && !m.server_env.is_empty() {
                continue;
            }
            let mut reps = Vec::new();
            for rep in 0..options.reps {
                eprintln!("{server}: {} ({}/{})", m.label, rep + 1, options.reps);
                match run_once(server, m, &paths, &pins) {
                    Ok(v) => reps.push(v),
                    Err(e) => eprintln!("{server}: {}: {e}", m.label),
                }
            }
            runs[i].insert(server.clone(), Value::Array(reps));
        }
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());

    let mut table = String::new();
    let mut json_rows = Vec::new();
    writeln!(
        table,
        "| measurement | figure | sio | socketioxide | node | sio/socketioxide | sio/node |\n|---|---|---:|---:|---:|---:|---:|"
    )?;
    for (m, by_server) in plan.iter().zip(&runs) {
        for Figure(key, unit, higher_better) in m.figures {
            let mut medians = Map::new();
            let value = |server: &str| -> Option<f64> {
                let mut values: Vec<f64> = by_server
                    .get(server)?
                    .as_array()?
                    .iter()
                    .filter_map(|run| run.get(*key)?.as_f64())
                    .collect();
                median(&mut values)
            };
            let [sio, sx, node] = SERVERS.map(value);
            for (server, v) in SERVERS.iter().zip([sio, sx, node]) {
                medians.insert(server.to_string(), json!(v));
            }
            let (r1, r2) = (ratio(sio, sx), ratio(sio, node));
            let better = if *higher_better {
                "higher is better"
            } else {
                "lower is better"
            };
            writeln!(
                table,
                "| {} | {unit} | {} | {} | {} | {} | {} |",
                m.label,
                format_value(sio),
                format_value(sx),
                format_value(node),
                format_value(r1),
                format_value(r2)
            )?;
            let server_env: Map<String, Value> = m
                .server_env
                .iter()
                .map(|(name, value)| (name.to_string(), json!(value)))
                .collect();
            json_rows.push(json!({
                "measurement": m.label, "figure": key, "unit": unit, "better": better,
                "server_env": server_env,
                "median": medians, "sio_over_socketioxide": r1, "sio_over_node": r2,
            }));
        }
    }
    println!("\n{table}");
    println!("Ratios are sio's figure divided by the other's: below 1 is better for sio on time, CPU and memory, above 1 on rates.");
    println!("CPU is the server's utime+stime over the measured interval (per-thread schedstat sums when they agree).");
    let document = json!({
        "quick": options.quick,
        "repetitions": options.reps,
        "pinning": pins.note,
        "skipped": skipped,
        "table": json_rows,
        "runs": plan.iter().zip(runs).map(|(m, r)| json!({"measurement": m.label, "runs": r})).collect::<Vec<_>>(),
    });
    std::fs::write(&options.out, serde_json::to_string_pretty(&document)?)?;
    println!("JSON: {}", options.out.display());
    Ok(())
}
