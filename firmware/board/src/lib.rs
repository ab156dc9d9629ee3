//! What the firmware's two programs share on QEMU's mps2-an386: the
//! executor's loop and timer, the metered heap and painted stack, the
//! semihosting console, the Ethernet controller. `src/main.rs` replays the
//! recorded sessions; `src/bin/live.rs` serves clients over the network.
#![no_std]

extern crate alloc;

pub mod clock;
pub mod console;
pub mod executor;
pub mod lan9118;
pub mod memory;

// A panic prints its message through semihosting and exits QEMU with a failure.
use panic_semihosting as _;
