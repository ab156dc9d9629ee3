//! sio-core on a Cortex-M4F (QEMU's mps2-an386), on the embassy executor
//! with a 256 KiB heap: replays every recorded session of
//! `firmware/transcripts/` with the core's clock read from the executor's
//! timer, prints each input and every byte the core produced for it (the
//! host's test compares them with its own run of the same code), then the
//! heap, stack and instruction figures. Exits through semihosting: 0 when
//! every replay matched its recording and every figure's step held.
//!
//! Run it: `cd firmware && cargo test --test qemu -- --nocapture`
//! (builds this crate for thumbv7em-none-eabihf and starts QEMU).
#![no_std]
#![no_main]

use core::fmt::Write;

use cortex_m_semihosting::debug;
use embassy_time::{Duration, Timer};
use sio_core::time::Instant;
use sio_firmware::console::Console;
use sio_firmware::{clock, executor, memory};
use sio_replay::figures::{self, Figure, Meter};
use sio_replay::replay::{Replay, ReplayError};
use sio_replay::TRANSCRIPTS;

#[cortex_m_rt::entry]
fn main() -> ! {
    memory::init_heap();
    memory::paint_stack();
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        debug::exit(debug::EXIT_FAILURE);
        unreachable!("semihosting exit returned");
    };
    clock::start(peripherals.SYST);
    executor::run(|spawner| match session() {
        Ok(task) => spawner.spawn(task),
        Err(_) => debug::exit(debug::EXIT_FAILURE),
    })
}

/// The one task: every replay, then the figures, then the exit.
#[embassy_executor::task]
async fn session() {
    let Some(mut out) = Console::open() else {
        return debug::exit(debug::EXIT_FAILURE);
    };
    let mut ok = true;
    for (name, text) in TRANSCRIPTS {
        let _ = writeln!(out, "== replay {name}");
        let heap_before = memory::heap_used();
        memory::reset_heap_peak();
        let result = replay(text, &mut out).await;
        let _ = writeln!(out, "== end {name}");
        match result {
            Ok((inputs, spent)) => {
                let peak = memory::heap_peak() - heap_before;
                let _ = writeln!(out, "figure heap-peak-replay-{name} {peak} bytes");
                let per_input = spent / inputs.max(1) as u64;
                let _ = writeln!(
                    out,
                    "figure instructions-per-input-{name} {per_input} instructions"
                );
            }
            Err(error) => {
                let _ = writeln!(out, "FAIL replay {name}: {error}");
                ok = false;
            }
        }
    }
    let now = Instant::from_millis(embassy_time::Instant::now().as_millis());
    let measured = figures::measure(&Board, now, &mut |f: Figure| {
        let _ = writeln!(out, "figure {} {} {}", f.name, f.value, f.unit);
    });
    if let Err(step) = measured {
        let _ = writeln!(out, "FAIL figures: {step}");
        ok = false;
    }
    let _ = writeln!(out, "figure stack-peak {} bytes", memory::stack_peak());
    let _ = writeln!(out, "figure heap-size {} bytes", memory::HEAP_BYTES);
    let _ = writeln!(out, "== done {}", if ok { "ok" } else { "FAILED" });
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
}

/// Replays `text`: each input at its recorded offset from now, by the
/// executor's timer, and the core's clock is that timer's reading. Returns
/// the inputs fed and the instructions spent on them (logging included,
/// waiting not).
async fn replay(text: &str, out: &mut Console) -> Result<(usize, u64), ReplayError> {
    let mut replay = Replay::new(text)?;
    let epoch = embassy_time::Instant::now();
    let mut spent = 0;
    while let Some(at) = replay.next_at() {
        Timer::at(epoch + Duration::from_millis(at)).await;
        let elapsed = embassy_time::Instant::now() - epoch;
        let start = clock::instructions();
        replay.step(Instant::from_millis(elapsed.as_millis()), out)?;
        spent += clock::instructions() - start;
    }
    Ok((replay.inputs, spent))
}

/// The figures' meter: the metered heap and SysTick's instruction count.
struct Board;

impl Meter for Board {
    fn heap_used(&self) -> usize {
        memory::heap_used()
    }
    fn heap_peak(&self) -> usize {
        memory::heap_peak()
    }
    fn reset_peak(&self) {
        memory::reset_heap_peak()
    }
    fn instructions(&self) -> Option<u64> {
        Some(clock::instructions())
    }
}
