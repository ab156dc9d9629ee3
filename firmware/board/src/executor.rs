//! The embassy executor's platform here: the thread-mode loop that polls
//! it and sleeps with WFI. embassy's own Cortex-M platform sleeps with WFE,
//! which QEMU runs as a no-op, so the loop would spin through every wait
//! (a second of emulated time is a billion instructions under
//! `-icount shift=0`); WFI halts the CPU until the next interrupt.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, Ordering};

use embassy_executor::{raw, Spawner};

/// A task was woken since the executor last looked.
static WOKEN: AtomicBool = AtomicBool::new(true);

// The executor calls this when a task is woken (from a task or an interrupt).
#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    WOKEN.store(true, Ordering::Release);
}

/// Runs the executor forever, `init` spawning its tasks first.
pub fn run(init: impl FnOnce(Spawner)) -> ! {
    let executor: &'static raw::Executor =
        Box::leak(Box::new(raw::Executor::new(core::ptr::null_mut())));
    init(executor.spawner());
    loop {
        // SAFETY: polled from this thread-mode loop only, never re-entered.
        unsafe { executor.poll() };
        // With interrupts masked a wake cannot slip in between the check
        // and the WFI; a pending interrupt still ends the WFI.
        cortex_m::interrupt::free(|_| {
            if !WOKEN.swap(false, Ordering::AcqRel) {
                cortex_m::asm::wfi();
            }
        });
    }
}
