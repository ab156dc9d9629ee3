//! The memory and instruction figures, measured on a machine fed the
//! client input of [`crate::load`]. The caller's [`Meter`] reads its heap
//! and its instruction counter (the firmware's; the host has none of its
//! own, and runs these only to check they hold together).

use alloc::format;
use alloc::vec::Vec;
use core::time::Duration;

use bytestring::ByteString;
use sio_core::packet::RawJson;
use sio_core::time::Instant;

use crate::load::{client_text, ws_session};
use crate::machine::{Effect, Input, Machine};

/// Sessions for the many-sessions figure.
pub const SESSIONS: u64 = 10;
/// Rooms joined for the per-room figure.
const ROOMS: usize = 100;
/// Acks left pending for the per-ack figure.
const ACKS: usize = 100;
/// Events timed for the instructions-per-event figure.
const EVENTS: u64 = 1_000;

/// Reads the heap and the instruction counter.
pub trait Meter {
    /// Heap bytes in use now.
    fn heap_used(&self) -> usize;
    /// Most heap bytes in use since [`Meter::reset_peak`].
    fn heap_peak(&self) -> usize;
    /// Starts a new high-water mark from what is in use now.
    fn reset_peak(&self);
    /// Instructions executed so far, where they can be counted.
    fn instructions(&self) -> Option<u64>;
}

/// One figure: `figure <name> <value> <unit>` in the firmware's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    /// What was measured.
    pub name: &'static str,
    /// Its value.
    pub value: u64,
    /// Its unit.
    pub unit: &'static str,
}

fn bytes(name: &'static str, value: usize) -> Figure {
    Figure {
        name,
        value: value as u64,
        unit: "bytes",
    }
}

/// Measures every figure at `now` (time does not matter to them) and hands
/// each to `out`; an error names a step that did not do what it should.
pub fn measure(
    meter: &impl Meter,
    now: Instant,
    out: &mut impl FnMut(Figure),
) -> Result<(), &'static str> {
    let discard = &mut |_: Effect| {};
    let before = meter.heap_used();
    let mut machine = Machine::new([9; 32]);
    let empty = meter.heap_used();
    out(bytes(
        "heap-server-no-session",
        empty.saturating_sub(before),
    ));

    meter.reset_peak();
    for input in ws_session(1) {
        machine.handle(now, &input, discard);
    }
    if machine.server().socket_count() != 1 {
        return Err("the WebSocket client did not connect");
    }
    let one = meter.heap_used() - empty;
    out(bytes("heap-1-session-live", one));
    out(bytes("heap-1-session-peak", meter.heap_peak() - empty));

    for conn in 2..=SESSIONS {
        for input in ws_session(conn) {
            machine.handle(now, &input, discard);
        }
    }
    if machine.server().socket_count() != SESSIONS as usize {
        return Err("not every WebSocket client connected");
    }
    let live = meter.heap_used() - empty;
    out(bytes("heap-10-sessions-live", live));
    out(bytes(
        "heap-per-further-session",
        (live - one) / (SESSIONS as usize - 1),
    ));
    out(bytes("heap-10-sessions-peak", meter.heap_peak() - empty));

    let socket = machine.app().last_socket.ok_or("no socket connected")?;
    let used = meter.heap_used();
    let names: Vec<_> = (0..ROOMS).map(|i| format!("room-{i:03}")).collect();
    let names_heap = meter.heap_used() - used;
    for name in &names {
        machine
            .act(now, |s| s.join(socket, name), discard)
            .map_err(|_| "join failed")?;
    }
    let rooms = machine.act(now, |s| s.rooms(socket).map(Iterator::count), discard);
    if rooms != Ok(ROOMS + 1) {
        return Err("the socket is not in every room");
    }
    let per_room = (meter.heap_used() - used - names_heap) / ROOMS;
    out(bytes("heap-per-room", per_room));
    drop(names);

    let used = meter.heap_used();
    for i in 0..ACKS {
        let data = RawJson::from_trusted(ByteString::from(format!("[\"tick\",{i}]")));
        let timeout = Some(Duration::from_secs(60));
        machine
            .act(
                now,
                |s| s.emit(now, socket, data, Vec::new(), timeout),
                discard,
            )
            .map_err(|_| "emit with ack failed")?;
    }
    machine.handle(now, &Input::Flushed(SESSIONS), discard);
    if machine.server().pending_ack_count(socket) != ACKS {
        return Err("the acks are not pending");
    }
    out(bytes(
        "heap-per-pending-ack",
        (meter.heap_used() - used) / ACKS,
    ));

    // One event with an ack, answered: parse, handler, ack encoded, frame out.
    let echo = Input::Data(SESSIONS, client_text(b"421[\"echo\",\"hello\",42]"));
    let flushed = Input::Flushed(SESSIONS);
    let handled = machine.app().events;
    let start = meter.instructions();
    for _ in 0..EVENTS {
        machine.handle(now, &echo, discard);
        machine.handle(now, &flushed, discard);
    }
    let end = meter.instructions();
    if machine.app().events - handled != EVENTS {
        return Err("not every echo reached the application");
    }
    if let (Some(start), Some(end)) = (start, end) {
        out(Figure {
            name: "instructions-per-event",
            value: (end - start) / EVENTS,
            unit: "instructions",
        });
    }
    Ok(())
}
