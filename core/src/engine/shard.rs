//! One server among the shards of a process. A driver that runs several
//! servers side by side (each behind its own lock, so inputs of sessions
//! in different shards proceed in parallel) must find a session's shard
//! from whatever names it: every number a sharded server hands out
//! (session, socket, connect request) is its shard's index modulo the
//! shard count, and the first character of every Engine.IO session id
//! carries the index too, so a polling request's `sid` routes it.

/// The most shards a process may run: the first character of a session
/// id (6 bits of base64) must be able to name each.
pub const MAX_SHARDS: usize = 64;

/// Where a server sits among the shards of its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u8,
    count: u8,
}

impl Shard {
    /// The only shard (an unsharded server).
    pub const ONE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; `None` unless `index < count <= MAX_SHARDS`.
    pub fn new(index: usize, count: usize) -> Option<Shard> {
        (index < count && count <= MAX_SHARDS).then_some(Shard {
            index: index as u8,
            count: count as u8,
        })
    }

    /// Its index, below [`Shard::count`].
    pub fn index(self) -> usize {
        usize::from(self.index)
    }

    /// How many shards there are.
    pub fn count(self) -> usize {
        usize::from(self.count)
    }

    /// The `n`th number this shard hands out of a sequence numbered per
    /// shard (sessions, connect requests): congruent to its index.
    pub(crate) fn number(self, n: u64) -> u64 {
        n.wrapping_mul(u64::from(self.count))
            .wrapping_add(u64::from(self.index))
    }

    /// Marks the raw bytes of a session id as this shard's: the top six
    /// bits of the first byte (its first base64 character) become a value
    /// congruent to the index, drawn from the random bits they held. With
    /// one shard the bytes stay as they are; with `count` shards the id
    /// keeps 120 - log2(count) random bits.
    pub(crate) fn stamp(self, raw: &mut [u8]) {
        let Some(first) = raw.first_mut() else { return };
        let count = self.count.max(1);
        let choices = 64 / count;
        let value = self.index + count * ((*first >> 2) % choices);
        *first = (value << 2) | (*first & 0b11);
    }
}

/// The shard of the session, socket or connect request numbered `n`
/// (see [`Shard`]), among `count`.
pub fn shard_of_number(n: u64, count: usize) -> usize {
    match count {
        0 | 1 => 0,
        _ => (n % count as u64) as usize,
    }
}

/// The shard of the session whose id is `sid`, among `count`: read from
/// its first character. An id no shard made gives some shard, which then
/// refuses it as unknown.
pub fn shard_of_sid(sid: &str, count: usize) -> usize {
    let value = match sid.as_bytes().first() {
        Some(&c @ b'A'..=b'Z') => c - b'A',
        Some(&c @ b'a'..=b'z') => c - b'a' + 26,
        Some(&c @ b'0'..=b'9') => c - b'0' + 52,
        Some(b'-') => 62,
        Some(b'_') => 63,
        _ => 0,
    };
    shard_of_number(u64::from(value), count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ids::IdGenerator;

    #[test]
    fn bounds() {
        assert!(Shard::new(0, 0).is_none());
        assert!(Shard::new(3, 3).is_none());
        assert!(Shard::new(0, MAX_SHARDS + 1).is_none());
        assert_eq!(Shard::new(63, 64).map(Shard::index), Some(63));
    }

    #[test]
    fn numbers_name_their_shard() {
        for count in [1, 2, 3, 7, 64] {
            for index in 0..count {
                let shard = Shard::new(index, count).unwrap();
                for n in [0, 1, 2, 1_000, u64::from(u32::MAX)] {
                    assert_eq!(shard_of_number(shard.number(n), count), index);
                }
            }
        }
    }

    #[test]
    fn stamped_ids_name_their_shard_and_stay_random() {
        let mut ids = IdGenerator::new([3; 32]);
        for count in [1, 2, 3, 5, 8, 64] {
            for index in 0..count {
                let shard = Shard::new(index, count).unwrap();
                let mut firsts = alloc::collections::BTreeSet::new();
                for _ in 0..2_000 {
                    let sid = ids.next_id_in(shard);
                    assert_eq!(sid.len(), 20);
                    assert_eq!(shard_of_sid(&sid, count), index, "{sid} in {count}");
                    firsts.insert(sid.as_bytes()[0]);
                }
                // Every first character the shard may use shows up.
                assert_eq!(firsts.len(), 64 / count, "count {count}");
            }
        }
    }

    #[test]
    fn one_shard_leaves_ids_alone() {
        let mut a = IdGenerator::new([9; 32]);
        let mut b = IdGenerator::new([9; 32]);
        for _ in 0..50 {
            assert_eq!(a.next_id(), b.next_id_in(Shard::ONE));
        }
    }

    #[test]
    fn foreign_ids_give_some_shard() {
        for sid in ["", "!", "é", "zzzz"] {
            assert!(shard_of_sid(sid, 5) < 5);
        }
    }
}
