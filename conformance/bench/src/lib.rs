//! Shared parts of the bench harness: the Socket.IO test client the load
//! generator runs (over WebSocket, or polling then upgraded), and readings of a process's CPU time and memory.
pub mod client;
pub mod polling;
pub mod procfs;
