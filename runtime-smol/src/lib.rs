//! sio-smol: drives [`sio_core`] on smol. The server API lands with the
//! runtimes issue.
#![forbid(unsafe_code)]
pub use sio_core as core;
