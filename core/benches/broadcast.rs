//! Broadcasting one event to a room of 1,000 and 10,000 WebSocket sockets,
//! draining every output it causes (one `Io::Transmit` per recipient), and
//! the heap allocations one such broadcast makes.
//!
//! Run with `cargo bench -p sio-core --bench broadcast`. Before criterion
//! runs, it prints the allocations per broadcast (a counting global
//! allocator around `System`), split into the `broadcast` call and the drain.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytestring::ByteString;
use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use sio_core::engine::{ConnId, Io};
use sio_core::packet::RawJson;
use sio_core::server::{BroadcastOptions, Config, Event, Output, Server};
use sio_core::Instant;

mod common;
use common::{client_text_frame, ws_handshake};

// ----- counting allocator -----

/// Counts every allocation and reallocation, then defers to `System`.
struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches no memory the caller owns.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this wrapper.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this wrapper.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

// ----- setup -----

const ROOM: &str = "bench";
const EVENT: &str = r#"["tick",{"n":1,"payload":"hello"}]"#;

/// Time never moves in this bench: no ping, connect or ack deadline can fire.
const NOW: Instant = Instant::from_millis(1_000);

fn config() -> Config {
    let mut config = Config::default();
    // Heartbeats far away too, in case a drain ever looks at the clock.
    config.engine.ping_interval = Duration::from_secs(1_000_000);
    config.engine.ping_timeout = Duration::from_secs(1_000_000);
    // Backpressure: every Transmit counts as unwritten until
    // `handle_written` / `handle_flushed`, and a WebSocket past
    // `max_buffered_packets` or `max_buffered_bytes` is closed. Rather than
    // reporting 10,000 connections written after every measured broadcast
    // (which would add 10,000 calls to what is timed), the limits are
    // lifted: the counts saturate, the sockets stay open.
    config.engine.max_buffered_packets = usize::MAX;
    config.engine.max_buffered_bytes = usize::MAX;
    config
}

/// What one drain saw.
#[derive(Default)]
struct Drained {
    transmits: usize,
    others: usize,
    events: Vec<Event>,
}

fn drain(server: &mut Server) -> Drained {
    let mut drained = Drained::default();
    loop {
        match server.poll_output() {
            Output::Io(Io::Transmit { .. }) => drained.transmits += 1,
            Output::Io(_) => drained.others += 1,
            Output::Event(event) => drained.events.push(event),
            Output::Timeout(_) => return drained,
            _ => drained.others += 1,
        }
    }
}

/// A server with `recipients` sockets on `/`, all in room `bench`, over
/// WebSocket, every connection flushed.
struct Fixture {
    server: Server,
    recipients: usize,
    opts: BroadcastOptions,
    data: RawJson,
}

impl Fixture {
    fn new(recipients: usize) -> Self {
        let mut server = Server::new(config(), [42; 32]);
        let connect = client_text_frame("40");
        for i in 0..recipients {
            let conn = ConnId(i as u64);
            server.handle_request(NOW, conn, ws_handshake());
            let opened = drain(&mut server);
            assert_eq!(opened.transmits, 1, "the open packet");
            server.handle_ws_data(NOW, conn, &connect);
            let request = match drain(&mut server).events.as_slice() {
                [Event::ConnectRequest { request, .. }] => *request,
                other => panic!("expected one connect request, got {other:?}"),
            };
            let socket = server.accept(NOW, request).expect("accept");
            server.join(socket, ROOM).expect("join");
            let accepted = drain(&mut server);
            assert_eq!(accepted.transmits, 1, "the CONNECT reply");
            server.handle_flushed(NOW, conn);
        }
        assert_eq!(server.room_members("/", ROOM).len(), recipients);
        assert_eq!(server.socket_count(), recipients);
        let data = RawJson::parse(ByteString::from_static(EVENT)).expect("valid JSON");
        let opts = BroadcastOptions {
            rooms: vec![ByteString::from_static(ROOM)],
            ..Default::default()
        };
        let mut fixture = Fixture {
            server,
            recipients,
            opts,
            data,
        };
        let (sent, drained) = fixture.broadcast_and_drain();
        assert_eq!(sent, recipients, "broadcast reached every member");
        assert_eq!(drained.transmits, recipients, "one Transmit per recipient");
        assert_eq!(drained.others, 0);
        assert!(drained.events.is_empty());
        fixture
    }

    /// The measured unit: one broadcast and the drain of what it queued.
    fn broadcast_and_drain(&mut self) -> (usize, Drained) {
        let sent = self.broadcast();
        (sent, drain(&mut self.server))
    }

    fn broadcast(&mut self) -> usize {
        self.server
            .broadcast(NOW, "/", &self.opts, self.data.clone(), Vec::new())
    }
}

// ----- allocations -----

/// Prints allocations per broadcast over `ROUNDS` broadcasts, after a
/// warm-up that lets every reused buffer reach its steady size.
fn report_allocations(fixture: &mut Fixture) {
    const WARM_UP: usize = 20;
    const ROUNDS: u64 = 100;
    for _ in 0..WARM_UP {
        fixture.broadcast_and_drain();
    }
    let (mut in_broadcast, mut in_drain) = (0, 0);
    for _ in 0..ROUNDS {
        let start = allocations();
        let sent = fixture.broadcast();
        let broadcast_done = allocations();
        let drained = drain(&mut fixture.server);
        let drain_done = allocations();
        assert_eq!(
            (sent, drained.transmits),
            (fixture.recipients, fixture.recipients)
        );
        in_broadcast += broadcast_done - start;
        in_drain += drain_done - broadcast_done;
    }
    let total = (in_broadcast + in_drain) as f64 / ROUNDS as f64;
    println!(
        "{} recipients: allocations per broadcast: {} (per recipient: {:.5}); \
         in Server::broadcast: {}, in the poll_output drain: {}",
        fixture.recipients,
        total,
        total / fixture.recipients as f64,
        in_broadcast as f64 / ROUNDS as f64,
        in_drain as f64 / ROUNDS as f64,
    );
}

// ----- criterion -----

fn main() {
    let mut fixtures: Vec<Fixture> = [1_000, 10_000].into_iter().map(Fixture::new).collect();
    for fixture in &mut fixtures {
        report_allocations(fixture);
    }
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("broadcast_room");
    for fixture in &mut fixtures {
        let recipients = fixture.recipients;
        group.throughput(Throughput::Elements(recipients as u64));
        group.bench_function(BenchmarkId::from_parameter(recipients), |b| {
            b.iter(|| {
                let (sent, drained) = fixture.broadcast_and_drain();
                assert_eq!(drained.transmits, recipients);
                black_box(sent)
            })
        });
    }
    group.finish();
    criterion.final_summary();
}
