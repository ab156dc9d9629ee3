//! The load generator of the Redis fan-out: many Socket.IO clients split
//! across two servers joined through Redis, one process, one thread (pin
//! it to a core of its own). Each round, one client on server A sends
//! `fanout`; A emits `tick` to room `bench` for its own clients and,
//! through Redis, for B's. The round ends when the last client on either
//! server has its tick. Prints one JSON object with the figures, and the
//! CPU time of both servers and of redis-server from `/proc/PID`.
//!
//! `loadgen_redis a=127.0.0.1:3001 b=127.0.0.1:3002 pid_a=1 pid_b=2
//!  pid_redis=3 clients=1000 rounds=20 warmup_rounds=3`
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sio_bench::client::Client;
use sio_bench::load::{dial_many, payload, send_fanout, Args};
use sio_bench::procfs::CpuTime;
use sio_bench::runner::{percentile, Error};
use sio_core::packet::PacketType;
use tokio::sync::Notify;
use tokio::task::LocalSet;

fn main() -> Result<(), Error> {
    let args = Args::parse(std::env::args().skip(1))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    let result = local.block_on(&rt, fanout(&args))?;
    println!("{result}");
    Ok(())
}

/// Connects `count` clients, alternately to `a` and `b` (so `a` gets the
/// extra one of an odd count), at most `parallel` handshakes at a time.
/// Returns them with whether each is on `a`.
async fn connect_split(
    a: SocketAddr,
    b: SocketAddr,
    count: usize,
    parallel: usize,
) -> Result<Vec<(bool, Client)>, Error> {
    dial_many(count, parallel, |i, seed| {
        let on_a = i % 2 == 0;
        async move {
            let client = Client::connect(if on_a { a } else { b }, seed).await?;
            Ok((on_a, client))
        }
    })
    .await
}

/// What the readers record in a round.
struct Round {
    received: Cell<usize>,
    last_a: Cell<Instant>,
    last_b: Cell<Instant>,
    all_in: Notify,
    failure: RefCell<Option<String>>,
}

impl Round {
    fn tick(&self, on_a: bool, clients: usize) {
        let now = Instant::now();
        if on_a {
            self.last_a.set(now);
        } else {
            self.last_b.set(now);
        }
        self.received.set(self.received.get() + 1);
        if self.received.get() == clients {
            self.all_in.notify_one();
        }
    }
}

fn median_ms(mut ns: Vec<u64>) -> f64 {
    ns.sort_unstable();
    percentile(&ns, 50.0) as f64 / 1e6
}

async fn fanout(args: &Args) -> Result<Value, Error> {
    let a: SocketAddr = args.required("a")?;
    let b: SocketAddr = args.required("b")?;
    let pids: [u32; 3] = [
        args.required("pid_a")?,
        args.required("pid_b")?,
        args.get("pid_redis", 0)?,
    ];
    let clients: usize = args.get("clients", 1000)?;
    let rounds: usize = args.get("rounds", 20)?;
    let warmup_rounds: usize = args.get("warmup_rounds", 3)?;
    if clients < 2 {
        return Err("clients=2 at least: one on each server".into());
    }
    let mut connected = connect_split(a, b, clients, 100).await?;
    // The sender: a client on A (the first one connected).
    let (_, mut sender) = connected.swap_remove(0);
    let on_b = connected.iter().filter(|(on_a, _)| !on_a).count();
    let now = Instant::now();
    let round = Rc::new(Round {
        received: Cell::new(0),
        last_a: Cell::new(now),
        last_b: Cell::new(now),
        all_in: Notify::new(),
        failure: RefCell::new(None),
    });
    let mut readers = Vec::new();
    for (on_a, mut client) in connected {
        let round = round.clone();
        readers.push(tokio::task::spawn_local(async move {
            loop {
                match client.next_packet().await {
                    Ok(p) if p.kind == PacketType::Event => round.tick(on_a, clients),
                    Ok(_) => {}
                    Err(e) => {
                        round.failure.borrow_mut().get_or_insert(e.to_string());
                        round.all_in.notify_one();
                        return;
                    }
                }
            }
        }));
    }
    let (mut to_last, mut to_last_a, mut to_last_b) = (Vec::new(), Vec::new(), Vec::new());
    let read_cpu = || pids.map(|pid| (pid != 0).then(|| CpuTime::read(pid)));
    let own_pid = std::process::id();
    let mut cpu_start = read_cpu();
    let (mut own_start, mut measured_from) = (CpuTime::read(own_pid), Instant::now());
    for n in 0..warmup_rounds + rounds {
        if n == warmup_rounds {
            cpu_start = read_cpu();
            (own_start, measured_from) = (CpuTime::read(own_pid), Instant::now());
        }
        round.received.set(0);
        let body = payload(n as u64);
        let sent = Instant::now();
        send_fanout(&mut sender, &body).await?;
        // The sender is in the room too: its own tick counts.
        round.tick(true, clients);
        while round.received.get() < clients {
            if let Some(err) = round.failure.borrow().as_ref() {
                return Err(format!("a client failed: {err}").into());
            }
            tokio::time::timeout(Duration::from_secs(30), round.all_in.notified())
                .await
                .map_err(|_| {
                    format!(
                        "round {n}: {} of {clients} ticks in 30 s",
                        round.received.get()
                    )
                })?;
        }
        if n >= warmup_rounds {
            let (last_a, last_b) = (round.last_a.get(), round.last_b.get());
            to_last.push((last_a.max(last_b) - sent).as_nanos() as u64);
            to_last_a.push((last_a - sent).as_nanos() as u64);
            to_last_b.push((last_b - sent).as_nanos() as u64);
        }
    }
    let cpu_end = read_cpu();
    let own_ns = CpuTime::read(own_pid).since(&own_start) as f64;
    let measured_secs = measured_from.elapsed().as_secs_f64();
    for reader in readers {
        reader.abort();
    }
    let cpu_us = |i: usize| match (&cpu_end[i], &cpu_start[i]) {
        (Some(end), Some(start)) => Some(end.since(start) as f64 / 1000.0),
        _ => None,
    };
    let [cpu_a, cpu_b, cpu_redis] = [cpu_us(0), cpu_us(1), cpu_us(2)];
    let total_secs = to_last.iter().sum::<u64>() as f64 / 1e9;
    let deliveries = (clients * rounds) as f64;
    let per_delivery = |us: Option<f64>| us.map(|us| us / deliveries);
    let max_ms = to_last.iter().max().copied().unwrap_or(0) as f64 / 1e6;
    Ok(json!({
        "scenario": "redis-fanout",
        "clients": clients,
        "clients_on_b": on_b,
        "rounds": rounds,
        "deliveries_per_sec": deliveries / total_secs,
        "last_delivery_ms_median": median_ms(to_last),
        "last_delivery_ms_max": max_ms,
        "last_on_a_ms_median": median_ms(to_last_a),
        "last_on_b_ms_median": median_ms(to_last_b),
        "servers_cpu_us_per_delivery": cpu_a.zip(cpu_b).map(|(a, b)| (a + b) / deliveries),
        "server_a_cpu_us_per_delivery": per_delivery(cpu_a),
        "server_b_cpu_us_per_delivery": per_delivery(cpu_b),
        "redis_cpu_us_per_delivery": per_delivery(cpu_redis),
        // How busy the servers' core and the load generator were over the
        // measured rounds: the servers far below 1 means they waited.
        "servers_cpu_share": cpu_a.zip(cpu_b).map(|(a, b)| (a + b) / 1e6 / measured_secs),
        "loadgen_cpu_share": own_ns / 1e9 / measured_secs,
    }))
}
