//! The fixed-size heap, metered, and the stack's high-water mark. The
//! firmware's only `unsafe` code is here: the allocator interface, handing
//! the heap its memory, and painting and reading the stack.

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

/// The heap: what a mid-range Cortex-M4 part could spare.
pub const HEAP_BYTES: usize = 256 * 1024;
/// How far below its top the stack is painted (and so can be measured).
const STACK_WINDOW: usize = 64 * 1024;
/// What painted stack words hold until something writes them.
const PAINT: u32 = 0x5A5A_A5A5;

/// embedded-alloc's linked-list heap, with a high-water mark.
struct Metered {
    heap: LlffHeap,
    peak: AtomicUsize,
}

#[global_allocator]
static HEAP: Metered = Metered {
    heap: LlffHeap::empty(),
    peak: AtomicUsize::new(0),
};

// SAFETY: every call goes to embedded-alloc's heap as it came; the mark
// only reads how much of it is in use.
unsafe impl GlobalAlloc for Metered {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let block = unsafe { self.heap.alloc(layout) };
        self.peak.fetch_max(self.heap.used(), Ordering::Relaxed);
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { self.heap.dealloc(block, layout) }
    }
}

/// Gives the heap its memory; call once, first thing.
pub fn init_heap() {
    static mut MEMORY: [MaybeUninit<u8>; HEAP_BYTES] = [MaybeUninit::uninit(); HEAP_BYTES];
    // SAFETY: called once, before any allocation; nothing else names MEMORY.
    unsafe {
        HEAP.heap
            .init(core::ptr::addr_of_mut!(MEMORY) as usize, HEAP_BYTES)
    }
}

/// Heap bytes in use.
pub fn heap_used() -> usize {
    HEAP.heap.used()
}

/// Most heap bytes in use since [`reset_heap_peak`].
pub fn heap_peak() -> usize {
    HEAP.peak.load(Ordering::Relaxed)
}

/// Starts a new high-water mark from what is in use now.
pub fn reset_heap_peak() {
    HEAP.peak.store(heap_used(), Ordering::Relaxed);
}

fn stack_top() -> usize {
    extern "C" {
        static _stack_start: u32;
    }
    // Only the symbol's address is taken (cortex-m-rt's top of stack).
    core::ptr::addr_of!(_stack_start) as usize
}

/// Paints the stack window below what is in use now.
pub fn paint_stack() {
    let bottom = stack_top() - STACK_WINDOW;
    // Leave the caller's frame, and this one's, alone.
    let below_sp = cortex_m::register::msp::read() as usize - 256;
    let mut at = bottom;
    while at < below_sp {
        // SAFETY: RAM between the window's bottom and the live stack, which
        // nothing else uses (statics and the heap sit at RAM's start).
        unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
}

/// The deepest the stack has been since [`paint_stack`], in bytes from its top.
pub fn stack_peak() -> usize {
    let top = stack_top();
    let mut at = top - STACK_WINDOW;
    // SAFETY: reads the painted window (see paint_stack).
    while at < top && unsafe { core::ptr::read_volatile(at as *const u32) } == PAINT {
        at += 4;
    }
    top - at
}
