//! The Redis fan-out bench (`scripts/bench --redis`): for sio-tokio with
//! sio-redis and for Node socket.io with @socket.io/redis-adapter, starts
//! one redis-server and two server processes on it, drives them with
//! `loadgen_redis` (clients split across both, all in room `bench`, the
//! `fanout` sent to server A), and keeps the median of the repetitions.
//! Prints a table in the main bench's style and writes the JSON.
//!
//! `redis_bench [--quick] [--reps N] [--servers sio,node] [--out FILE]
//!  [--redis-server PATH]`
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sio_bench::runner::{
    format_value, max_open_files, median, parse_options, pinning, ratio, Error, Pins,
};

const SERVERS: [&str; 2] = ["sio", "node"];

/// A figure: its key in the load generator's JSON, its unit, and whether
/// higher is better.
struct Figure(&'static str, &'static str, bool);

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

struct Paths {
    bin_dir: PathBuf,
    node_dir: PathBuf,
    logs: PathBuf,
}

/// A child process killed (and reaped) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `command` and waits until it accepts connections on `port`.
fn spawn_listening(
    what: &str,
    command: &[String],
    env: &[(&str, String)],
    port: u16,
    paths: &Paths,
) -> Result<Process, Error> {
    let log = std::fs::File::create(paths.logs.join(format!("{what}.log")))?;
    let mut child = Command::new(&command[0]);
    child
        .args(&command[1..])
        .env_remove("RUST_LOG")
        .current_dir(&paths.node_dir)
        .stdout(Stdio::null())
        .stderr(log);
    for (key, value) in env {
        child.env(key, value);
    }
    let mut child = Process(child.spawn()?);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = child.0.try_wait()? {
            return Err(format!(
                "{what} exited: {status}; see {}",
                paths.logs.join(format!("{what}.log")).display()
            )
            .into());
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not listen within 15 s").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(child)
}

fn server_command(name: &str, paths: &Paths, pin: &[String]) -> Result<Vec<String>, Error> {
    let program: Vec<String> = match name {
        "sio" => vec![paths.bin_dir.join("server_sio_redis").display().to_string()],
        "node" => vec![
            "node".into(),
            paths.node_dir.join("server-redis.js").display().to_string(),
        ],
        other => return Err(format!("unknown server {other}").into()),
    };
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
    let redis = spawn_listening("redis-server", &redis_command, &[], redis_port, paths)?;
    let url = format!("redis://127.0.0.1:{redis_port}");
    let command = server_command(server, paths, &pins.servers)?;
    let (port_a, port_b) = (free_port()?, free_port()?);
    let start = |label: &str, port: u16| {
        spawn_listening(
            &format!("{server}-redis-{label}"),
            &command,
            &[("PORT", port.to_string()), ("REDIS_URL", url.clone())],
            port,
            paths,
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
            format!("pid_a={}", a.0.id()),
            format!("pid_b={}", b.0.id()),
            format!("pid_redis={}", redis.0.id()),
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
    let pins = pinning("both servers", "load generator and redis-server");
    let (plan, skipped) = plan(options.quick, max_open_files());
    println!(
        "sio bench, Redis fan-out{}: {} repetition(s), median kept",
        if options.quick { " (--quick)" } else { "" },
        options.reps
    );
    println!("{}", pins.note);
    for s in &skipped {
        println!("skipped: {s}");
    }
    let started = Instant::now();
    // runs[measurement][server] = the repetitions' outputs
    let mut runs: Vec<Map<String, Value>> = plan.iter().map(|_| Map::new()).collect();
    for server in &options.servers {
        for (i, m) in plan.iter().enumerate() {
            let mut reps = Vec::new();
            for rep in 0..options.reps {
                eprintln!("{server}: {} ({}/{})", m.label, rep + 1, options.reps);
                match run_once(server, m, &paths, &pins, &redis_server) {
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
        "| measurement | figure | sio | node | sio/node |\n|---|---|---:|---:|---:|"
    )?;
    for (m, by_server) in plan.iter().zip(&runs) {
        for Figure(key, unit, higher_better) in FIGURES {
            let value = |server: &str| -> Option<f64> {
                let mut values: Vec<f64> = by_server
                    .get(server)?
                    .as_array()?
                    .iter()
                    .filter_map(|run| run.get(*key)?.as_f64())
                    .collect();
                median(&mut values)
            };
            let [sio, node] = SERVERS.map(value);
            let mut medians = Map::new();
            for (server, v) in SERVERS.iter().zip([sio, node]) {
                medians.insert(server.to_string(), json!(v));
            }
            let r = ratio(sio, node);
            let better = if *higher_better {
                "higher is better"
            } else {
                "lower is better"
            };
            writeln!(
                table,
                "| {} | {unit} | {} | {} | {} |",
                m.label,
                format_value(sio),
                format_value(node),
                format_value(r)
            )?;
            json_rows.push(json!({
                "measurement": m.label, "figure": key, "unit": unit, "better": better,
                "median": medians, "sio_over_node": r,
            }));
        }
    }
    println!("\n{table}");
    println!("Half the clients on server A, half on server B; the fanout is sent to A, which reaches B's clients through Redis.");
    println!("Ratios are sio's figure divided by Node's: below 1 is better for sio on time and CPU, above 1 on rates.");
    println!("CPU is each process's utime+stime over the measured rounds (per-thread schedstat sums when they agree).");
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
