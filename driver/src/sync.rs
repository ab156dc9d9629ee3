//! Locking, at the bottom of the driver: every module may use it.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, recovering the data if a panicking thread poisoned it (every
/// critical section leaves the maps consistent before it can panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
