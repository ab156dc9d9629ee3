//! A typed map of per-socket data (Node's `socket.data`), written by
//! middleware and handlers.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::sync::lock;

/// Values keyed by their type; cloning the map shares it.
#[derive(Clone, Default)]
pub struct Extensions {
    map: Arc<Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>,
}

impl Extensions {
    /// Stores `value`, returning the previous value of its type.
    pub fn insert<T: Send + Sync + 'static>(&self, value: T) -> Option<T> {
        lock(&self.map)
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|b: Box<T>| *b))
    }

    /// A clone of the value of type `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.map)
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.map)
            .remove(&TypeId::of::<T>())
            .and_then(|old| old.downcast().ok().map(|b: Box<T>| *b))
    }

    /// Whether a value of type `T` is stored.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        lock(&self.map).contains_key(&TypeId::of::<T>())
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &lock(&self.map).len())
            .finish()
    }
}
