//! The Redis fan-out bench (`scripts/bench --redis`): for sio-tokio with
//! sio-redis and for Node socket.io with @socket.io/redis-adapter (and the
//! same with the Redis Streams adapters: `sio-streams`, `node-streams`), starts
//! one redis-server and two server processes on it, drives them with
//! `loadgen_redis` (clients split across both, all in room `bench`, the
//! `fanout` sent to server A), and keeps the median of the repetitions.
//! Prints a table in the main bench's style and writes the JSON.
//!
//! `redis_bench [--quick] [--reps N] [--servers sio,node] [--out FILE]
//!  [--redis-server PATH]`
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use sio_bench::runner::{
    max_open_files, parse_options, pinning, repeat, report, Error, Figure, Paths, Pins, Planned,
};

/// Pub/sub (`@socket.io/redis-adapter`), then the Redis Streams adapter
/// (`@socket.io/redis-streams-adapter`); `--servers sio-streams,node-streams`
/// for the streams pair's own ratios.
const SERVERS: [&str; 4] = ["sio", "node", "sio-streams", "node-streams"];

const FIGURES: &[Figure] = &[
    Figure("deliveries_per_sec", "deliv/s", true),
    Figure("last_delivery_ms_median", "ms to last", false),
    Figure("last_on_a_ms_median", "ms to last on A", false),
    Figure("last_on_b_ms_median", "ms to last on B", false),
    Figure("servers_cpu_us_per_delivery", "CPU µs/deliv (A+B)", false),
    Figure("server_a_cpu_us_per_delivery", "CPU µs/deliv A", false),
    Figure("server_b_cpu_us_per_delivery", "CPU µs/deliv B", false),
    Figure("redis_cpu_us_per_delivery", "redis CPU µs/deliv", false),
    // Far below 1 with the load generator also idle: the cores were held
    // by other processes and the rates are noise.
    Figure("servers_cpu_share", "servers busy", true),
    Figure("loadgen_cpu_share", "loadgen busy", true),
];

/// One measurement: clients in all (split across the two servers) and rounds.
struct Measurement {
    label: String,
    clients: usize,
    rounds: usize,
}

impl Planned for Measurement {
    fn label(&self) -> &str {
        &self.label
    }
    fn figures(&self) -> &'static [Figure] {
        FIGURES
    }
}

fn plan(quick: bool, max_clients: usize) -> (Vec<Measurement>, Vec<String>) {
    let sizes: &[(usize, usize)] = if quick {
        &[(1000, 10)]
    } else {
        &[(1000, 30), (10_000, 10)]
    };
    let mut skipped = Vec::new();
    let plan = sizes
        .iter()
        .filter_map(|&(clients, rounds)| {
            let label = format!("redis fanout to {clients} on 2 servers");
            // Both servers together hold `clients` sockets, as the loadgen does.
            if clients + 200 > max_clients {
                skipped.push(format!(
                    "{label}: needs {} open files, `ulimit -n` is {max_clients}",
                    clients + 200
                ));
                return None;
            }
            Some(Measurement {
                label,
                clients,
                rounds,
            })
        })
        .collect();
    (plan, skipped)
}

fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn server_command(name: &str, paths: &Paths, pin: &[String]) -> Result<Vec<String>, Error> {
    let (kind, streams) = match name.strip_suffix("-streams") {
        Some(kind) => (kind, true),
        None => (name, false),
    };
    let mut program: Vec<String> = match streams {
        true => vec!["env".into(), "ADAPTER=streams".into()],
        false => Vec::new(),
    };
    match kind {
        "sio" => program.push(paths.bin_dir.join("server_sio_redis").display().to_string()),
        "node" => program.extend([
            "node".into(),
            paths.node_dir.join("server-redis.js").display().to_string(),
        ]),
        other => return Err(format!("unknown server {other}").into()),
    }
    Ok(pin.iter().cloned().chain(program).collect())
}

fn run_once(
    server: &str,
    m: &Measurement,
    paths: &Paths,
    pins: &Pins,
    redis_server: &Path,
) -> Result<Value, Error> {
    let redis_port = free_port()?;
    let redis_command: Vec<String> = pins
        .loadgen
        .iter()
        .cloned()
        .chain([
            redis_server.display().to_string(),
            "--port".into(),
            redis_port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
            // Its pub/sub output buffers hold what the servers did not
            // read yet; the default cap would drop a slow subscriber.
            "--client-output-buffer-limit".into(),
            "pubsub 0 0 0".into(),
        ])
        .collect();
    let redis = paths.spawn_listening("redis-server", &redis_command, &[], redis_port)?;
    let url = format!("redis://127.0.0.1:{redis_port}");
    let command = server_command(server, paths, &pins.servers)?;
    let (port_a, port_b) = (free_port()?, free_port()?);
    let start = |label: &str, port: u16| {
        paths.spawn_listening(
            &format!("{server}-redis-{label}"),
            &command,
            &[("PORT", port.to_string()), ("REDIS_URL", url.clone())],
            port,
        )
    };
    let a = start("a", port_a)?;
    let b = start("b", port_b)?;
    let loadgen = paths.bin_dir.join("loadgen_redis").display().to_string();
    let command: Vec<String> = pins
        .loadgen
        .iter()
        .cloned()
        .chain([
            loadgen,
            format!("a=127.0.0.1:{port_a}"),
            format!("b=127.0.0.1:{port_b}"),
            format!("pid_a={}", a.id()),
            format!("pid_b={}", b.id()),
            format!("pid_redis={}", redis.id()),
            format!("clients={}", m.clients),
            format!("rounds={}", m.rounds),
        ])
        .collect();
    let output = Command::new(&command[0])
        .args(&command[1..])
        .stderr(Stdio::inherit())
        .output();
    drop((a, b, redis));
    let output = output?;
    if !output.status.success() {
        return Err(format!(
            "loadgen_redis failed ({}) on {server}, {}",
            output.status, m.label
        )
        .into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn main() -> Result<(), Error> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let mut redis_server = PathBuf::from("/usr/bin/redis-server");
    let options = parse_options(
        &SERVERS,
        root.join("conformance/artifacts/bench/redis.json"),
        |arg, args| {
            if arg != "--redis-server" {
                return Ok(false);
            }
            redis_server = args.next().ok_or("--redis-server PATH")?.into();
            Ok(true)
        },
    )?;
    if !redis_server.exists() {
        return Err(format!(
            "no {} (scripts/install-redis, or --redis-server PATH)",
            redis_server.display()
        )
        .into());
    }
    let paths = Paths::new(&root, &options.out)?;
    let pins = pinning("both servers", "load generator and redis-server");
    let (plan, skipped) = plan(options.quick, max_open_files());
    let title = "sio bench, Redis fan-out";
    let runs = repeat(title, &options, &pins, &plan, &skipped, |server, m| {
        run_once(server, m, &paths, &pins, &redis_server)
    });
    report(
        &SERVERS,
        &options,
        &pins,
        &plan,
        &skipped,
        runs,
        &[
            "Half the clients on server A, half on server B; the fanout is sent to A, which reaches B's clients through Redis.",
            "Ratios are sio's figure divided by Node's: below 1 is better for sio on time and CPU, above 1 on rates.",
            "CPU is each process's utime+stime over the measured rounds (per-thread schedstat sums when they agree).",
        ],
    )
}
