//! The demo application (`sio_replay::app`) served live from the board:
//! smoltcp over the LAN9118 at 10.0.2.15, port 80 (QEMU's user networking,
//! the host reaching it through a forwarded port), the same `Machine` as
//! the replays, the core's clock read from the executor's timer. Prints
//! `listening` through semihosting, then serves until QEMU is stopped.
//! `firmware/replay/tests/live.rs` runs the npm client against it.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;

use cortex_m_semihosting::debug;
use embassy_time::Timer;
use sio_core::time::Instant;
use sio_firmware::console::Console;
use sio_firmware::lan9118::Lan9118;
use sio_firmware::{clock, executor, memory};
use sio_replay::machine::{Effect, Input, Machine};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, Ipv4Address};

/// QEMU's default address for the first NIC, and user networking's guest address.
const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
const PORT: u16 = 80;
/// TCP connections served at once: the npm client over polling keeps idle
/// keep-alive connections open, and a session may use three at a time.
const SOCKETS: usize = 12;
const RX_BUFFER: usize = 2048;
/// The largest HTTP body or WebSocket message a client may send.
const MAX_MESSAGE: usize = 16 * 1024;
/// The most bytes queued for one client that does not read.
const MAX_QUEUED: usize = 32 * 1024;
const TX_BUFFER: usize = 4096;
/// The ids' seed. A real device draws it from its hardware RNG at boot;
/// QEMU's board has none, and nothing here needs unguessable ids.
const SEED: [u8; 32] = *b"sio firmware live demo, not safe";

/// One TCP socket and the connection the machine knows it as.
struct Slot {
    handle: SocketHandle,
    conn: Option<u64>,
    out: Vec<u8>,
    closing: bool,
}

#[cortex_m_rt::entry]
fn main() -> ! {
    memory::init_heap();
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        debug::exit(debug::EXIT_FAILURE);
        unreachable!("semihosting exit returned");
    };
    clock::start(peripherals.SYST);
    executor::run(|spawner| match serve() {
        Ok(task) => spawner.spawn(task),
        Err(_) => debug::exit(debug::EXIT_FAILURE),
    })
}

fn millis() -> u64 {
    embassy_time::Instant::now().as_millis()
}

#[embassy_executor::task]
async fn serve() {
    let Some(mut out) = Console::open() else {
        return debug::exit(debug::EXIT_FAILURE);
    };
    let Some(mut nic) = Lan9118::new(MAC) else {
        let _ = writeln!(out, "FAIL no LAN9118");
        return debug::exit(debug::EXIT_FAILURE);
    };
    let stamp = || smoltcp::time::Instant::from_millis(millis() as i64);
    let mut iface = Interface::new(Config::new(EthernetAddress(MAC).into()), &mut nic, stamp());
    iface.update_ip_addrs(|ips| {
        let _ = ips.push(IpCidr::new(IpAddress::Ipv4(ADDRESS), 24));
    });
    let _ = iface.routes_mut().add_default_ipv4_route(GATEWAY);
    let mut sockets = SocketSet::new(Vec::new());
    let mut slots: Vec<Slot> = (0..SOCKETS)
        .map(|_| {
            let rx = tcp::SocketBuffer::new(vec![0; RX_BUFFER]);
            let tx = tcp::SocketBuffer::new(vec![0; TX_BUFFER]);
            let mut socket = tcp::Socket::new(rx, tx);
            // Every write is a whole HTTP response or WebSocket frame: send
            // it now rather than wait for an ack of the one before (Nagle).
            socket.set_nagle_enabled(false);
            socket.set_ack_delay(None);
            let _ = socket.listen(PORT);
            Slot {
                handle: sockets.add(socket),
                conn: None,
                out: Vec::new(),
                closing: false,
            }
        })
        .collect();
    // The demo's heartbeat (pings every 300 ms, as recorded), with room
    // for an emulated board on a busy host to answer late.
    let mut config = sio_replay::app::config();
    config.engine.ping_timeout = core::time::Duration::from_secs(5);
    // Bounds for a 256 KiB heap, where Node's (1 MB messages, 16 MiB queued
    // per client) would let one client exhaust it.
    config.engine.max_http_buffer_size = MAX_MESSAGE;
    config.engine.max_buffered_bytes = MAX_QUEUED;
    let mut machine = Machine::with_config(config, SEED);
    let mut next_conn = 0;
    let mut effects = Vec::new();
    let _ = writeln!(out, "listening {ADDRESS}:{PORT}");
    loop {
        iface.poll(stamp(), &mut nic, &mut sockets);
        let now = Instant::from_millis(millis());
        for slot in slots.iter_mut() {
            let socket = sockets.get_mut::<tcp::Socket>(slot.handle);
            let Some(conn) = slot.conn else {
                // A client may have sent its request and its FIN already.
                if matches!(socket.state(), State::Established | State::CloseWait) {
                    next_conn += 1;
                    slot.conn = Some(next_conn);
                    slot.closing = false;
                    machine.handle(now, &Input::Open(next_conn), &mut |e| effects.push(e));
                } else if matches!(socket.state(), State::Closed | State::TimeWait) {
                    socket.abort();
                    let _ = socket.listen(PORT);
                }
                continue;
            };
            let mut buf = [0u8; 2048];
            while let Ok(n @ 1..) = socket.recv_slice(&mut buf) {
                machine.handle(now, &Input::Data(conn, buf[..n].to_vec()), &mut |e| {
                    effects.push(e)
                });
            }
        }
        if machine.deadline().is_some_and(|at| at <= now) {
            machine.handle(now, &Input::Tick, &mut |e| effects.push(e));
        }
        apply(&mut slots, &mut sockets, &mut effects);
        for slot in slots.iter_mut() {
            let Some(conn) = slot.conn else { continue };
            let socket = sockets.get_mut::<tcp::Socket>(slot.handle);
            if !slot.out.is_empty() && socket.can_send() {
                if let Ok(n) = socket.send_slice(&slot.out) {
                    slot.out.drain(..n);
                }
            }
            // Gone, or done sending with nothing more to come its way (a
            // client may half-close and still wait for its response).
            let peer_done = !socket.may_recv() && !machine.awaits_response(conn);
            if !socket.is_active() || (peer_done && slot.out.is_empty()) {
                socket.close();
                slot.conn = None;
                slot.out.clear();
                machine.handle(now, &Input::Closed(conn), &mut |e| effects.push(e));
                continue;
            }
            if slot.out.is_empty() && socket.send_queue() == 0 {
                if slot.closing {
                    socket.close();
                    slot.conn = None;
                    machine.handle(now, &Input::Closed(conn), &mut |e| effects.push(e));
                } else if machine.wants_flushed(conn) {
                    machine.handle(now, &Input::Flushed(conn), &mut |e| effects.push(e));
                }
            }
        }
        apply(&mut slots, &mut sockets, &mut effects);
        Timer::after_millis(1).await;
    }
}

/// Puts the machine's effects on the connections they name.
fn apply(slots: &mut [Slot], sockets: &mut SocketSet<'_>, effects: &mut Vec<Effect>) {
    for effect in effects.drain(..) {
        let conn = match &effect {
            Effect::Write(c, _) | Effect::Close(c) | Effect::Abort(c) => *c,
        };
        let Some(slot) = slots.iter_mut().find(|s| s.conn == Some(conn)) else {
            continue;
        };
        match effect {
            Effect::Write(_, data) => slot.out.extend_from_slice(&data),
            Effect::Close(_) => slot.closing = true,
            Effect::Abort(_) => {
                slot.out.clear();
                sockets.get_mut::<tcp::Socket>(slot.handle).abort();
                slot.closing = true;
            }
        }
    }
}
