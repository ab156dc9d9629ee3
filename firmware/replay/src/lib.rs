//! Recorded Socket.IO sessions replayed through sio-core, the same code on
//! the host and on the firmware (`firmware/board`): a [`machine::Machine`]
//! (the core's server, the demo [`app`], connections with no sockets),
//! the [`transcript`] format the recordings are stored in, the [`replay`]
//! and the [`figures`].
//!
//! Without the `std` feature this is `no_std` + `alloc`, as the core is.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod app;
pub mod figures;
mod hex;
pub mod load;
pub mod machine;
pub mod replay;
pub mod transcript;

/// The recorded sessions: (name, transcript).
pub const TRANSCRIPTS: &[(&str, &str)] = &[
    (
        "polling-upgrade",
        include_str!("../../transcripts/polling-upgrade.txt"),
    ),
    ("websocket", include_str!("../../transcripts/websocket.txt")),
];
