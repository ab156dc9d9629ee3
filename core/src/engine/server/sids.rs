//! The index from a session's `sid` (the string clients send) to its
//! number. It keeps each sid's hash and number only; the sid itself is
//! compared against the one its session holds, so the index costs 16
//! bytes a slot rather than a second copy of every sid (40).

use core::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

/// Session numbers by sid.
#[derive(Debug, Default)]
pub(crate) struct SidIndex {
    /// (hash of the sid, session number).
    table: HashTable<(u64, u64)>,
    hasher: DefaultHashBuilder,
}

impl SidIndex {
    fn hash(&self, sid: &str) -> u64 {
        self.hasher.hash_one(sid)
    }

    /// The session whose sid is `sid`; `sid_of` gives a session's sid.
    pub(crate) fn get<'a>(
        &self,
        sid: &str,
        sid_of: impl Fn(u64) -> Option<&'a str>,
    ) -> Option<u64> {
        let hash = self.hash(sid);
        self.table
            .find(hash, |&(h, id)| h == hash && sid_of(id) == Some(sid))
            .map(|&(_, id)| id)
    }

    /// Files session `id` under `sid` (the caller checked it is not taken).
    pub(crate) fn insert(&mut self, sid: &str, id: u64) {
        let hash = self.hash(sid);
        self.table.insert_unique(hash, (hash, id), |&(h, _)| h);
    }

    /// Forgets session `id`, filed under `sid`.
    pub(crate) fn remove(&mut self, sid: &str, id: u64) {
        let hash = self.hash(sid);
        if let Ok(entry) = self.table.find_entry(hash, |&(h, i)| h == hash && i == id) {
            entry.remove();
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_sid_through_the_sessions() {
        let sids = ["a", "b", "c"];
        let sid_of = |id: u64| sids.get(id as usize).copied();
        let mut index = SidIndex::default();
        for (id, sid) in sids.iter().enumerate() {
            index.insert(sid, id as u64);
        }
        assert_eq!(index.get("b", sid_of), Some(1));
        assert_eq!(index.get("d", sid_of), None);
        index.remove("b", 1);
        index.remove("b", 1);
        assert_eq!(index.get("b", sid_of), None);
        assert_eq!(index.get("c", sid_of), Some(2));
        assert_eq!(index.len(), 2);
    }
}
