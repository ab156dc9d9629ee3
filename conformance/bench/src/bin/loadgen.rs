//! The load generator: one process, one thread (pin it to a core of its
//! own), many Socket.IO clients over raw WebSockets on loopback. Runs one
//! scenario against a server already listening and prints one JSON object
//! with the figures, including the server's CPU time (and memory) read
//! from `/proc/PID` around the measured interval.
//!
//! `loadgen echo|fanout|connect|connect-polling addr=127.0.0.1:3000 pid=1234 clients=100 ...`
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sio_bench::client::Client;
use sio_bench::load::{dial_many, payload, send_fanout, Args};
use sio_bench::procfs::{rss_kib, CpuTime};
use sio_bench::runner::{percentile, Error};
use sio_core::packet::PacketType;
use tokio::sync::Notify;
use tokio::task::LocalSet;

fn main() -> Result<(), Error> {
    let mut argv = std::env::args().skip(1);
    let scenario = argv
        .next()
        .ok_or("usage: loadgen echo|fanout|connect|connect-polling key=value...")?;
    let args = Args::parse(argv)?;
    let addr: SocketAddr = args.get("addr", "127.0.0.1:3000".parse()?)?;
    let pid: u32 = args.get("pid", 0)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    let result = local.block_on(&rt, async {
        match scenario.as_str() {
            "echo" => echo(&args, addr, pid).await,
            "fanout" => fanout(&args, addr, pid).await,
            "connect" => connect(&args, addr, pid).await,
            "connect-polling" => connect_polling(&args, addr, pid).await,
            other => Err(format!("unknown scenario {other}").into()),
        }
    })?;
    println!("{result}");
    Ok(())
}

/// Connects `count` clients over WebSocket, at most `parallel`
/// handshakes at a time.
async fn connect_many(
    addr: SocketAddr,
    count: usize,
    parallel: usize,
) -> Result<Vec<Client>, Error> {
    dial_many(count, parallel, |_, seed| dial_websocket(addr, seed)).await
}

async fn dial_websocket(addr: SocketAddr, seed: u32) -> Result<Client, Error> {
    Ok(Client::connect(addr, seed).await?)
}

/// Round trips of `echo` with its ack, each client keeping one in flight.
async fn echo(args: &Args, addr: SocketAddr, pid: u32) -> Result<Value, Error> {
    let clients: usize = args.get("clients", 100)?;
    let warmup = Duration::from_secs_f64(args.get("warmup", 1.0)?);
    let secs = Duration::from_secs_f64(args.get("secs", 3.0)?);
    let connected = connect_many(addr, clients, 100).await?;
    let stop = Rc::new(Cell::new(false));
    let mut tasks = Vec::new();
    for mut client in connected {
        let stop = stop.clone();
        tasks.push(tokio::task::spawn_local(async move {
            // (completion time, round trip in ns) of every round trip.
            let mut samples: Vec<(Instant, u64)> = Vec::with_capacity(4096);
            let mut id = 0u64;
            let mut checked = false;
            while !stop.get() {
                let body = payload(id);
                let sent = Instant::now();
                client.emit("echo", &body, Some(id)).await?;
                let ack = loop {
                    let packet = client.next_packet().await?;
                    if packet.kind == PacketType::Ack && packet.id == Some(id) {
                        break packet;
                    }
                };
                let done = Instant::now();
                if !checked {
                    // Once per client: the ack carries exactly what was sent.
                    let got: Value =
                        serde_json::from_str(ack.data.as_ref().map(|d| d.as_str()).unwrap_or(""))?;
                    let want: Value = serde_json::from_str(&body)?;
                    if got != want {
                        return Err(format!("echo ack {got} != {want}").into());
                    }
                    checked = true;
                }
                samples.push((done, (done - sent).as_nanos() as u64));
                id += 1;
            }
            Ok::<_, Error>(samples)
        }));
    }
    tokio::time::sleep(warmup).await;
    let (start, cpu_start) = (Instant::now(), CpuTime::read(pid));
    let own_start = CpuTime::read(std::process::id());
    tokio::time::sleep(secs).await;
    let (end, cpu_end) = (Instant::now(), CpuTime::read(pid));
    let own_end = CpuTime::read(std::process::id());
    stop.set(true);
    let mut rtts = Vec::new();
    for task in tasks {
        let samples = task.await??;
        rtts.extend(
            samples
                .into_iter()
                .filter(|(t, _)| *t >= start && *t <= end)
                .map(|(_, rtt)| rtt),
        );
    }
    rtts.sort_unstable();
    let elapsed = (end - start).as_secs_f64();
    let ops = rtts.len() as f64;
    let cpu_ns = cpu_end.since(&cpu_start) as f64;
    Ok(json!({
        "scenario": "echo",
        "clients": clients,
        "round_trips": rtts.len(),
        "secs": elapsed,
        "round_trips_per_sec": ops / elapsed,
        "p50_us": percentile(&rtts, 50.0) as f64 / 1000.0,
        "p99_us": percentile(&rtts, 99.0) as f64 / 1000.0,
        "server_cpu_us_per_round_trip": cpu_ns / 1000.0 / ops.max(1.0),
        "server_cpu_share": cpu_ns / 1e9 / elapsed,
        "loadgen_cpu_share": own_end.since(&own_start) as f64 / 1e9 / elapsed,
    }))
}

/// Rounds of one `fanout` from one client; every client (the sender too)
/// counts its `tick`, and the round ends when the last one has it.
async fn fanout(args: &Args, addr: SocketAddr, pid: u32) -> Result<Value, Error> {
    let clients: usize = args.get("clients", 1000)?;
    let rounds: usize = args.get("rounds", 20)?;
    let warmup_rounds: usize = args.get("warmup_rounds", 3)?;
    let mut connected = connect_many(addr, clients, 100).await?;
    let mut sender = connected.pop().ok_or("no clients")?;
    // Ticks received in this round, and when the last one came.
    let received = Rc::new(Cell::new(0usize));
    let last = Rc::new(Cell::new(Instant::now()));
    let all_in = Rc::new(Notify::new());
    let failure: Rc<RefCell<Option<String>>> = Rc::default();
    let on_tick = {
        let (received, last, all_in) = (received.clone(), last.clone(), all_in.clone());
        move || {
            last.set(Instant::now());
            received.set(received.get() + 1);
            if received.get() == clients {
                all_in.notify_one();
            }
        }
    };
    let mut readers = Vec::new();
    for mut client in connected {
        let on_tick = on_tick.clone();
        let failure = failure.clone();
        let all_in = all_in.clone();
        readers.push(tokio::task::spawn_local(async move {
            loop {
                match client.next_packet().await {
                    Ok(p) if p.kind == PacketType::Event => on_tick(),
                    Ok(_) => {}
                    Err(e) => {
                        failure.borrow_mut().get_or_insert(e.to_string());
                        all_in.notify_one();
                        return;
                    }
                }
            }
        }));
    }
    let mut round_ns = Vec::with_capacity(rounds);
    let mut cpu_start = CpuTime::read(pid);
    for round in 0..warmup_rounds + rounds {
        if round == warmup_rounds {
            cpu_start = CpuTime::read(pid);
        }
        received.set(0);
        let body = payload(round as u64);
        let sent = Instant::now();
        send_fanout(&mut sender, &body).await?;
        on_tick();
        while received.get() < clients {
            if let Some(err) = failure.borrow().as_ref() {
                return Err(format!("a client failed: {err}").into());
            }
            tokio::time::timeout(Duration::from_secs(30), all_in.notified())
                .await
                .map_err(|_| {
                    format!(
                        "round {round}: {} of {clients} ticks in 30 s",
                        received.get()
                    )
                })?;
        }
        if round >= warmup_rounds {
            round_ns.push((last.get() - sent).as_nanos() as u64);
        }
    }
    let cpu_ns = CpuTime::read(pid).since(&cpu_start) as f64;
    for reader in readers {
        reader.abort();
    }
    let total_secs = round_ns.iter().sum::<u64>() as f64 / 1e9;
    let deliveries = (clients * rounds) as f64;
    round_ns.sort_unstable();
    Ok(json!({
        "scenario": "fanout",
        "clients": clients,
        "rounds": rounds,
        "deliveries_per_sec": deliveries / total_secs,
        "last_delivery_ms_median": percentile(&round_ns, 50.0) as f64 / 1e6,
        "last_delivery_ms_max": round_ns.last().copied().unwrap_or(0) as f64 / 1e6,
        "server_cpu_us_per_delivery": cpu_ns / 1000.0 / deliveries,
    }))
}

/// Whole Socket.IO handshakes over WebSocket, then the server's memory
/// with all those clients connected and idle.
async fn connect(args: &Args, addr: SocketAddr, pid: u32) -> Result<Value, Error> {
    handshakes(args, addr, pid, "connect", 5000, dial_websocket).await
}

/// Whole handshakes the way socket.io-client makes them by default: open
/// and CONNECT over HTTP long-polling, then the upgrade to WebSocket. A
/// handshake counts once its `5` is sent and one `echo` with its ack has
/// made the round trip over the WebSocket, so the server has taken the
/// upgrade (and spent its CPU on it) before the clock stops.
async fn connect_polling(args: &Args, addr: SocketAddr, pid: u32) -> Result<Value, Error> {
    handshakes(args, addr, pid, "connect-polling", 1000, dial_polling).await
}

async fn dial_polling(addr: SocketAddr, seed: u32) -> Result<Client, Error> {
    let mut client = Client::connect_polling(addr, seed).await?;
    let body = payload(0);
    client.emit("echo", &body, Some(0)).await?;
    loop {
        let packet = client.next_packet().await?;
        if packet.kind == PacketType::Ack && packet.id == Some(0) {
            return Ok(client);
        }
    }
}

/// Handshakes per second and server CPU per handshake for `clients`
/// (default `default_clients`) made with `dial`, then the server's memory
/// per connection once they are idle.
async fn handshakes<F, Fut>(
    args: &Args,
    addr: SocketAddr,
    pid: u32,
    scenario: &str,
    default_clients: usize,
    dial: F,
) -> Result<Value, Error>
where
    F: Fn(SocketAddr, u32) -> Fut,
    Fut: std::future::Future<Output = Result<Client, Error>> + 'static,
{
    let clients: usize = args.get("clients", default_clients)?;
    let parallel: usize = args.get("parallel", 100)?;
    let settle = Duration::from_secs_f64(args.get("settle", 1.0)?);
    let rss_before = rss_kib(pid).ok_or("no VmRSS for the server pid")?;
    let cpu_start = CpuTime::read(pid);
    let start = Instant::now();
    let connected = dial_many(clients, parallel, |_, seed| dial(addr, seed)).await?;
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_ns = CpuTime::read(pid).since(&cpu_start) as f64;
    tokio::time::sleep(settle).await;
    let rss_after = rss_kib(pid).ok_or("no VmRSS for the server pid")?;
    drop(connected);
    Ok(json!({
        "scenario": scenario,
        "clients": clients,
        "handshakes_per_sec": clients as f64 / elapsed,
        "server_cpu_us_per_handshake": cpu_ns / 1000.0 / clients as f64,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_bytes_per_connection": (rss_after as f64 - rss_before as f64) * 1024.0 / clients as f64,
    }))
}
