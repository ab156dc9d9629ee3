//! sio-async-std: drives [`sio_core`] on async-std. async-std is
//! discontinued upstream; smol (sio-smol) is its recommended successor.
//! The server API lands with the runtimes issue.
#![forbid(unsafe_code)]
pub use sio_core as core;
