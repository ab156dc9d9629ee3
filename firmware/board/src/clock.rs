//! The executor's timer: an embassy-time driver on SysTick, one tick per
//! millisecond of the mps2-an386's 25 MHz CPU clock. Under QEMU's
//! `-icount shift=0` one instruction is one nanosecond of that clock, so
//! SysTick also counts instructions (40 per SysTick cycle).

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// The board's CPU clock (QEMU's mps2 SYSCLK).
const CPU_HZ: u32 = 25_000_000;
/// SysTick cycles per millisecond tick, less one (the reload value).
const RELOAD: u32 = CPU_HZ / 1_000 - 1;
/// Instructions per SysTick cycle under `-icount shift=0` (1 per ns).
const INSTRUCTIONS_PER_CYCLE: u64 = 1_000_000_000 / CPU_HZ as u64;

struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow_ref_mut(cs);
            queue.schedule_wake(at, waker);
            // Wakes it at once when `at` has passed already.
            queue.next_expiration(self.ticks.borrow(cs).get());
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let ticks = DRIVER.ticks.borrow(cs);
        ticks.set(ticks.get() + 1);
        DRIVER.queue.borrow_ref_mut(cs).next_expiration(ticks.get());
    });
}

/// Starts the millisecond tick.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Instructions executed since [`start`] (exact to 40 under `-icount shift=0`;
/// without `-icount`, CPU cycles of emulated time instead).
pub fn instructions() -> u64 {
    critical_section::with(|cs| {
        let mut ticks = DRIVER.ticks.borrow(cs).get();
        let mut current = SYST::get_current();
        // A tick that ended while interrupts were off is not counted yet.
        if SCB::is_pendst_pending() {
            ticks += 1;
            current = SYST::get_current();
        }
        let cycles = ticks * u64::from(RELOAD + 1) + u64::from(RELOAD - current.min(RELOAD));
        cycles * INSTRUCTIONS_PER_CYCLE
    })
}
