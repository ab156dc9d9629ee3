//! A typed map of per-socket data (Node's `socket.data`), written by
//! middleware and handlers.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::sync::lock;

type Map = Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>;

/// Values keyed by their type; cloning the map shares it.
///
/// The shared map is made on the first insert or clone: most sockets never
/// store anything, and an idle connection should not pay for the table.
#[derive(Default)]
pub struct Extensions {
    map: OnceLock<Arc<Map>>,
}

impl Clone for Extensions {
    /// A handle to the same map (made now if it was not yet, so that both
    /// see what either inserts later).
    fn clone(&self) -> Self {
        Extensions {
            map: OnceLock::from(self.shared().clone()),
        }
    }
}

impl Extensions {
    /// The map, made on first need.
    fn shared(&self) -> &Arc<Map> {
        self.map.get_or_init(Arc::default)
    }

    /// Stores `value`, returning the previous value of its type.
    pub fn insert<T: Send + Sync + 'static>(&self, value: T) -> Option<T> {
        lock(self.shared())
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|b: Box<T>| *b))
    }

    /// A clone of the value of type `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(self.map.get()?)
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&self) -> Option<T> {
        lock(self.map.get()?)
            .remove(&TypeId::of::<T>())
            .and_then(|old| old.downcast().ok().map(|b: Box<T>| *b))
    }

    /// Whether a value of type `T` is stored.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        self.map
            .get()
            .is_some_and(|map| lock(map).contains_key(&TypeId::of::<T>()))
    }

    /// How many values are stored.
    fn len(&self) -> usize {
        self.map.get().map_or(0, |map| lock(map).len())
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Extensions;

    #[test]
    fn unused_map_is_not_made() {
        let ext = Extensions::default();
        assert!(!ext.contains::<u32>());
        assert_eq!(ext.get::<u32>(), None);
        assert_eq!(ext.remove::<u32>(), None);
        assert!(ext.map.get().is_none());
    }

    #[test]
    fn clones_share_inserts_made_before_and_after() {
        let ext = Extensions::default();
        let early = ext.clone();
        ext.insert(7u32);
        assert_eq!(early.get::<u32>(), Some(7));
        early.insert("x");
        assert_eq!(ext.get::<&str>(), Some("x"));
        let late = ext.clone();
        assert_eq!(late.remove::<u32>(), Some(7));
        assert!(!ext.contains::<u32>());
    }
}
