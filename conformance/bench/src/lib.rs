//! Shared parts of the bench harness: the Socket.IO test client the load
//! generator runs, and readings of a process's CPU time and memory.
pub mod client;
pub mod procfs;
