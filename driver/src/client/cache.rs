//! Managers shared per server, as socket.io-client's `io()` caches them:
//! a socket joins the live manager of the same scheme, host, port and
//! Engine.IO path (on the same runtime instance), unless that manager already has
//! its namespace or the socket asks for `force_new`.
//!
//! Floor: above `client::manager`, below `client` (which alone calls it).

use std::any::TypeId;
use std::sync::{Arc, Mutex, Weak};

use crate::sync::lock;

use super::manager::{ClientManager, ManagerInner};

/// What makes two URLs one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ServerKey {
    /// The runtime, its type and instance: a manager's tasks live on the
    /// runtime that made it.
    pub(super) runtime: (TypeId, u64),
    pub(super) secure: bool,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) path: String,
}

/// The shared managers; dead entries go on the next insert.
static MANAGERS: Mutex<Vec<(ServerKey, Weak<ManagerInner>)>> = Mutex::new(Vec::new());

/// The manager for a socket on `nsp` at `key`: the shared one if it lives
/// and has no socket on `nsp` yet; otherwise one from `start`, shared from
/// now on unless a live one is already shared (socket.io-client makes a
/// manager of its own for a second socket on one namespace, uncached).
pub(super) fn shared_manager(
    key: ServerKey,
    nsp: &str,
    start: impl FnOnce() -> ClientManager,
) -> ClientManager {
    let mut managers = lock(&MANAGERS);
    let live = managers
        .iter()
        .filter(|(k, _)| *k == key)
        .find_map(|(_, weak)| weak.upgrade());
    if let Some(inner) = &live {
        if inner.socket(nsp).is_none() {
            return ClientManager {
                inner: inner.clone(),
            };
        }
    }
    let manager = start();
    if live.is_none() {
        managers.retain(|(_, weak)| weak.strong_count() > 0);
        managers.push((key, Arc::downgrade(&manager.inner)));
    }
    manager
}
