//! sio-tokio: drives [`sio_core`] on tokio. The server API lands with the
//! sio-tokio issue; until then this crate only re-exports the core.
#![forbid(unsafe_code)]
pub use sio_core as core;
