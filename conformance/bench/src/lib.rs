//! Shared parts of the bench harness: the app the sio servers serve, the Socket.IO test client the load
//! generator runs (over WebSocket, or polling then upgraded), what the two
//! load generators share, readings of a process's CPU time and memory, the
//! runners' figures, and the runtime the Rust servers run on.
pub mod app;
pub mod client;
pub mod load;
pub mod polling;
pub mod procfs;
pub mod runner;
pub mod runtime;
