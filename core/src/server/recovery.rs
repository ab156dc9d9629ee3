//! Connection state recovery: the sessions of sockets that left for a
//! recoverable reason, and the log of packets sent while recovery is on,
//! each with its offset. A client that comes back with its private session
//! id (`pid`) and the offset of the last packet it saw gets its old id,
//! rooms and data back, and the packets it missed, in order.
//!
//! This is the in-memory store (Node's `SessionAwareAdapter`). Its types
//! ([`PersistedSession`], [`LoggedPacket`], [`RestoredSession`]) are what a
//! cluster adapter would persist and hand back (Node's `persistSession` /
//! `restoreSession`). Everything kept is bounded twice: by the window
//! (`max_disconnection_duration`) and by [`RecoveryConfig::max_bytes`].

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;

use crate::packet::RawJson;
use crate::time::Instant;

/// Options of connection state recovery (Node's `connectionStateRecovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// How long a disconnected socket's session, and each logged packet,
    /// is kept (2 minutes, as in Node).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the namespace's middleware (true,
    /// as in Node). The core never runs middleware: the driver reads it.
    pub skip_middlewares: bool,
    /// Most bytes the kept sessions and the packet log may hold together
    /// (64 MiB; Node has no bound). Past it, the oldest entries go first:
    /// a client whose session or offset went gets a new session.
    pub max_bytes: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What a socket that left for a recoverable reason leaves behind (Node's
/// `SessionToPersist`, plus its namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedSession {
    /// The socket id the client saw.
    pub sid: ByteString,
    /// The private session id (never shown to other clients).
    pub pid: ByteString,
    /// The namespace.
    pub nsp: ByteString,
    /// Its rooms, its own id included.
    pub rooms: Vec<ByteString>,
    /// Its `socket.data`, as JSON.
    pub data: Option<RawJson>,
}

/// One logged packet (Node's `PersistedPacket`): an event sent while
/// recovery is on, neither volatile nor waiting for an ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedPacket {
    /// Its offset, also the last element of `data`.
    pub offset: ByteString,
    /// When it was sent.
    pub emitted_at: Instant,
    /// Its namespace.
    pub nsp: ByteString,
    /// The rooms it went to (empty: the whole namespace).
    pub rooms: Vec<ByteString>,
    /// Sockets in any of these rooms did not get it.
    pub except: Vec<ByteString>,
    /// `["name", ...args, offset]`, with attachment placeholders.
    pub data: RawJson,
    /// Its binary attachments.
    pub attachments: Vec<Bytes>,
}

impl LoggedPacket {
    /// Whether a socket in `rooms` got this packet (Node's
    /// `shouldIncludePacket`).
    pub fn reaches(&self, rooms: &[ByteString]) -> bool {
        let included = self.rooms.is_empty() || rooms.iter().any(|room| self.rooms.contains(room));
        included && !rooms.iter().any(|room| self.except.contains(room))
    }

    fn cost(&self) -> usize {
        ENTRY_OVERHEAD
            + self.offset.len()
            + self.nsp.len()
            + self.data.as_str().len()
            + strings_cost(&self.rooms)
            + strings_cost(&self.except)
            + self.attachments.iter().map(Bytes::len).sum::<usize>()
    }
}

/// A session handed back, with the packets its socket missed (Node's `Session`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredSession {
    /// The session as it was kept.
    pub session: PersistedSession,
    /// The missed packets, in the order they were sent: `(data, attachments)`.
    pub missed: Vec<(RawJson, Vec<Bytes>)>,
}

/// A session taken out of the store for a CONNECT, waiting for the verdict:
/// its missed packets are gathered at accept time, so nothing sent while
/// middleware runs is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TakenSession {
    pub(crate) session: PersistedSession,
    /// Where in the log its missed packets start.
    pub(crate) since: Since,
    /// When it was kept (its window still runs from then).
    pub(crate) kept_at: Instant,
}

/// Where a taken session's missed packets start in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Since {
    /// After the packet with this sequence: the client's offset.
    After(u64),
    /// From this sequence on: the point this shard took the session over
    /// from another, whose offset the client still holds.
    From(u64),
}

/// Sharded: a session this shard took over from another shard.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Handover {
    /// The offset the client held then (the other shard's).
    offset: ByteString,
    /// The first sequence of this log the session had not got.
    from: u64,
    /// When: kept for the window, as the packet at that offset would be.
    at: Instant,
}

/// The longest `pid` or `offset` a CONNECT may carry to be looked up.
pub const MAX_RECOVERY_FIELD: usize = 64;

/// Fixed bytes counted per kept entry, for the allocations around it.
const ENTRY_OVERHEAD: usize = 96;

fn strings_cost(strings: &[ByteString]) -> usize {
    strings.iter().map(|s| s.len() + 24).sum()
}

fn session_cost(session: &PersistedSession) -> usize {
    ENTRY_OVERHEAD
        + session.sid.len()
        + session.pid.len() * 2
        + session.nsp.len()
        + strings_cost(&session.rooms)
        + session.data.as_ref().map_or(0, |d| d.as_str().len())
}

/// The in-memory store: kept sessions by pid and the packet log, oldest
/// first in both.
#[derive(Debug)]
pub struct SessionStore {
    config: RecoveryConfig,
    sessions: BTreeMap<ByteString, (PersistedSession, Instant)>,
    /// `(disconnected at, pid)` in persist order; an entry whose session was
    /// restored (or persisted again later) is stale and skipped.
    expiry: VecDeque<(Instant, ByteString)>,
    /// `(sequence, packet)`, sequences increasing.
    log: VecDeque<(u64, LoggedPacket)>,
    bytes: usize,
    /// The sequence the next logged packet gets (its offset).
    next_seq: u64,
    /// What sequences step by: the shard count, so that a sharded store's
    /// offsets are its shard's index modulo the count and never read as
    /// another shard's.
    seq_step: u64,
    /// Sharded: sessions taken over from another shard, by pid, for a
    /// client that comes back still holding that shard's offset.
    handovers: BTreeMap<ByteString, Handover>,
    /// `(taken over at, pid)`, oldest first; stale entries are skipped.
    handover_expiry: VecDeque<(Instant, ByteString)>,
    /// CONNECTs that came with a pid and offset but found nothing to
    /// restore (expired, unknown, another namespace): the metric of misses.
    misses: u64,
}

impl SessionStore {
    /// An empty store.
    pub fn new(config: RecoveryConfig) -> Self {
        SessionStore {
            config,
            sessions: BTreeMap::new(),
            expiry: VecDeque::new(),
            log: VecDeque::new(),
            bytes: 0,
            next_seq: 0,
            seq_step: 1,
            handovers: BTreeMap::new(),
            handover_expiry: VecDeque::new(),
            misses: 0,
        }
    }

    /// How many recovery attempts found nothing to restore, since the start.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Its options.
    pub fn config(&self) -> &RecoveryConfig {
        &self.config
    }

    /// How many sessions are kept.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// How many packets are logged.
    pub fn packet_count(&self) -> usize {
        self.log.len()
    }

    /// The bytes counted against [`RecoveryConfig::max_bytes`].
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The logged packets, oldest first.
    pub fn packets(&self) -> impl Iterator<Item = &LoggedPacket> {
        self.log.iter().map(|(_, packet)| packet)
    }

    /// Logs a packet for `nsp`: appends a fresh offset to `data` (as its last
    /// element) and returns the data to send. `data` must be a JSON array.
    pub fn log(
        &mut self,
        now: Instant,
        nsp: ByteString,
        rooms: Vec<ByteString>,
        except: Vec<ByteString>,
        data: &RawJson,
        attachments: Vec<Bytes>,
    ) -> RawJson {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(self.seq_step);
        let mut offset = String::new();
        let _ = write!(offset, "{seq}");
        let offset = ByteString::from(offset);
        let data = append_string(data, &offset);
        let packet = LoggedPacket {
            offset,
            emitted_at: now,
            nsp,
            rooms,
            except,
            data: data.clone(),
            attachments,
        };
        self.bytes += packet.cost();
        self.log.push_back((seq, packet));
        self.enforce_cap();
        data
    }

    /// Numbers this store's packets as `shard`'s (see
    /// [`Shard`](crate::engine::Shard)): an offset another shard gave is
    /// then never found here (a miss) rather than read as one of this
    /// log's packets. Before the first packet only.
    pub(crate) fn set_shard(&mut self, shard: crate::engine::Shard) {
        if self.log.is_empty() && self.next_seq < self.seq_step {
            self.next_seq = shard.index() as u64;
            self.seq_step = shard.count() as u64;
        }
    }

    /// Keeps `session` for the window, from `now` (Node's `persistSession`).
    pub fn persist(&mut self, now: Instant, session: PersistedSession) {
        let pid = session.pid.clone();
        self.bytes += session_cost(&session);
        if let Some((old, _)) = self.sessions.insert(pid.clone(), (session, now)) {
            self.bytes -= session_cost(&old);
        }
        self.expiry.push_back((now, pid));
        self.enforce_cap();
    }

    /// Takes the session `pid` of namespace `nsp` out of the store when it
    /// is still kept and `offset` is still logged for that namespace
    /// (Node's `restoreSession`, minus the missed packets). A taken session
    /// is gone: it is never restored twice.
    pub(crate) fn take(
        &mut self,
        now: Instant,
        nsp: &str,
        pid: &str,
        offset: &str,
    ) -> Option<TakenSession> {
        self.take_or_miss(now, nsp, pid, offset, true)
    }

    /// [`SessionStore::take`], counting a miss only when `count_miss`
    /// (a sharded server's miss is counted by the shard that looks last).
    pub(crate) fn take_or_miss(
        &mut self,
        now: Instant,
        nsp: &str,
        pid: &str,
        offset: &str,
        count_miss: bool,
    ) -> Option<TakenSession> {
        let taken = self.take_kept(now, nsp, pid, offset);
        if taken.is_none() && count_miss {
            self.misses += 1;
        }
        taken
    }

    /// Counts a recovery attempt that found nothing in any shard.
    pub fn count_miss(&mut self) {
        self.misses += 1;
    }

    /// Sharded: logs the packets another shard's log gave a session it
    /// handed over (`missed`, each ending with that shard's offset) again
    /// here, for that session alone (its own room), with this log's
    /// offsets, so the client holds this shard's offsets from then on.
    /// Until it gets one, it holds `offset`, the other shard's: that
    /// offset is remembered, for the window, as the point the session was
    /// taken over at. Returns the sequence of the first packet: the
    /// session misses everything logged from there on
    /// ([`SessionStore::logged_from`]).
    pub(crate) fn relog(
        &mut self,
        now: Instant,
        session: &PersistedSession,
        offset: Option<&str>,
        missed: Vec<(RawJson, Vec<Bytes>)>,
    ) -> u64 {
        let from = self.next_seq;
        if let Some(offset) = offset {
            let handover = Handover {
                offset: ByteString::from(offset),
                from,
                at: now,
            };
            self.handovers.insert(session.pid.clone(), handover);
            self.handover_expiry.push_back((now, session.pid.clone()));
        }
        let own_room = alloc::vec![session.sid.clone()];
        for (data, attachments) in missed {
            let data = data.split_last_string().map_or(data, |(data, _)| data);
            let _ = self.log(
                now,
                session.nsp.clone(),
                own_room.clone(),
                Vec::new(),
                &data,
                attachments,
            );
        }
        from
    }

    /// The packets logged from sequence `from` on that reach `session`, in
    /// order; `None` when one of them has left the log already (the
    /// window or the byte cap): the recovery then fails whole.
    pub(crate) fn logged_from(
        &self,
        from: u64,
        session: &PersistedSession,
    ) -> Option<Vec<(RawJson, Vec<Bytes>)>> {
        let oldest = self.log.front().map_or(self.next_seq, |(seq, _)| *seq);
        if oldest > from {
            return None;
        }
        let at = self.log.partition_point(|(seq, _)| *seq < from);
        Some(
            self.log
                .iter()
                .skip(at)
                .map(|(_, packet)| packet)
                .filter(|packet| packet.nsp == session.nsp && packet.reaches(&session.rooms))
                .map(|packet| (packet.data.clone(), packet.attachments.clone()))
                .collect(),
        )
    }

    fn take_kept(
        &mut self,
        now: Instant,
        nsp: &str,
        pid: &str,
        offset: &str,
    ) -> Option<TakenSession> {
        self.prune(now);
        let (session, _) = self.sessions.get(pid)?;
        if &*session.nsp != nsp {
            return None;
        }
        let since = match (self.find(offset), self.handovers.get(pid)) {
            (Some(at), _) if &*self.log[at].1.nsp == nsp => Since::After(self.log[at].0),
            (Some(_), _) => return None,
            // Taken over from another shard, and nothing here reached the
            // client since: it still holds that shard's offset.
            (None, Some(handover)) if &*handover.offset == offset => Since::From(handover.from),
            (None, _) => return None,
        };
        let (session, kept_at) = self.sessions.remove(pid)?;
        self.bytes -= session_cost(&session);
        Some(TakenSession {
            session,
            since,
            kept_at,
        })
    }

    /// Puts back a session taken for a CONNECT that was refused or whose
    /// connection closed first: the client may try again within the
    /// same window (as with Node, whose store keeps it).
    pub(crate) fn put_back(&mut self, taken: TakenSession) {
        let pid = taken.session.pid.clone();
        self.bytes += session_cost(&taken.session);
        if let Some((old, _)) = self
            .sessions
            .insert(pid.clone(), (taken.session, taken.kept_at))
        {
            self.bytes -= session_cost(&old);
        }
        // Its expiry entry may be gone: one more, in time order.
        let at = self.expiry.partition_point(|(t, _)| *t <= taken.kept_at);
        self.expiry.insert(at, (taken.kept_at, pid));
        self.enforce_cap();
    }

    /// Sharded: puts back a session another shard handed over for a
    /// CONNECT that was refused or whose connection closed first, as
    /// kept from the handover on: the client's retry, with the other
    /// shard's offset still, finds it here.
    pub(crate) fn put_back_handed_over(&mut self, session: PersistedSession) {
        let Some(handover) = self.handovers.get(&session.pid) else {
            return;
        };
        let taken = TakenSession {
            since: Since::From(handover.from),
            kept_at: handover.at,
            session,
        };
        self.put_back(taken);
    }

    /// The packets a taken session missed, in order; `None` when some of
    /// them are no longer logged (the recovery fails whole).
    pub(crate) fn missed(
        &self,
        since: Since,
        session: &PersistedSession,
    ) -> Option<Vec<(RawJson, Vec<Bytes>)>> {
        match since {
            Since::After(seq) => self.missed_after(seq, session),
            Since::From(seq) => self.logged_from(seq, session),
        }
    }

    /// The packets after sequence `since` that reach `session`, in order;
    /// `None` when `since` is no longer logged.
    fn missed_after(
        &self,
        since: u64,
        session: &PersistedSession,
    ) -> Option<Vec<(RawJson, Vec<Bytes>)>> {
        let at = self
            .log
            .binary_search_by_key(&since, |(seq, _)| *seq)
            .ok()?;
        Some(
            self.log
                .iter()
                .skip(at + 1)
                .map(|(_, packet)| packet)
                .filter(|packet| packet.nsp == session.nsp && packet.reaches(&session.rooms))
                .map(|packet| (packet.data.clone(), packet.attachments.clone()))
                .collect(),
        )
    }

    /// Node's `restoreSession` in one step: the session and its missed packets.
    pub fn restore(
        &mut self,
        now: Instant,
        nsp: &str,
        pid: &str,
        offset: &str,
    ) -> Option<RestoredSession> {
        let taken = self.take(now, nsp, pid, offset)?;
        let missed = self.missed(taken.since, &taken.session)?;
        Some(RestoredSession {
            session: taken.session,
            missed,
        })
    }

    /// The index in the log of the packet with `offset`.
    fn find(&self, offset: &str) -> Option<usize> {
        // Only the canonical spelling of a sequence is an offset we gave.
        let seq: u64 = offset.parse().ok()?;
        let at = self.log.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        (&*self.log[at].1.offset == offset).then_some(at)
    }

    /// Drops what has been kept longer than the window: a session or a
    /// packet is kept up to exactly the window, and gone just after.
    pub fn prune(&mut self, now: Instant) {
        let window = self.config.max_disconnection_duration;
        let expired = |at: Instant| at.checked_add(window).is_some_and(|end| end < now);
        while let Some((_, packet)) = self.log.front() {
            if !expired(packet.emitted_at) {
                break;
            }
            self.pop_packet();
        }
        while let Some((at, _)) = self.expiry.front() {
            if !expired(*at) {
                break;
            }
            self.pop_session();
        }
        self.skip_stale_expiry();
        while let Some((at, _)) = self.handover_expiry.front() {
            if !expired(*at) {
                break;
            }
            if let Some((at, pid)) = self.handover_expiry.pop_front() {
                if self.handovers.get(&pid).is_some_and(|h| h.at == at) {
                    self.handovers.remove(&pid);
                }
            }
        }
    }

    /// When the next entry expires (just past its window), if any.
    pub fn next_expiry(&self) -> Option<Instant> {
        let oldest = [
            self.log.front().map(|(_, p)| p.emitted_at),
            self.expiry.front().map(|(s, _)| *s),
            self.handover_expiry.front().map(|(h, _)| *h),
        ]
        .into_iter()
        .flatten()
        .min()?;
        oldest
            .checked_add(self.config.max_disconnection_duration)?
            .checked_add(Duration::from_nanos(1))
    }

    /// Drops the oldest entries, sessions or packets, until the store fits.
    fn enforce_cap(&mut self) {
        while self.bytes > self.config.max_bytes {
            self.skip_stale_expiry();
            let packet_at = self.log.front().map(|(_, p)| p.emitted_at);
            let session_at = self.expiry.front().map(|(at, _)| *at);
            match (packet_at, session_at) {
                (Some(p), Some(s)) if s < p => self.pop_session(),
                (Some(_), _) => self.pop_packet(),
                (None, Some(_)) => self.pop_session(),
                (None, None) => break,
            }
        }
    }

    fn pop_packet(&mut self) {
        if let Some((_, packet)) = self.log.pop_front() {
            self.bytes -= packet.cost();
        }
    }

    /// Drops the session at the front of the expiry queue, if that entry is
    /// still the live one.
    fn pop_session(&mut self) {
        let Some((at, pid)) = self.expiry.pop_front() else {
            return;
        };
        if self.sessions.get(&pid).is_some_and(|(_, kept)| *kept == at) {
            if let Some((session, _)) = self.sessions.remove(&pid) {
                self.bytes -= session_cost(&session);
            }
        }
    }

    /// Drops expiry entries at the front whose session is gone or newer.
    fn skip_stale_expiry(&mut self) {
        while let Some((at, pid)) = self.expiry.front() {
            if self.sessions.get(pid).is_some_and(|(_, kept)| kept == at) {
                break;
            }
            self.expiry.pop_front();
        }
    }
}

/// `data` (a JSON array) with the string `value` (no escapes needed)
/// appended as its last element.
pub(crate) fn append_string(data: &RawJson, value: &str) -> RawJson {
    let text = data.as_str().trim_end();
    let body = text.strip_suffix(']').unwrap_or(text);
    let empty = data.first_element() == Some(None);
    let mut out = String::with_capacity(body.len() + value.len() + 4);
    out.push_str(body);
    if !empty {
        out.push(',');
    }
    out.push('"');
    out.push_str(value);
    out.push_str("\"]");
    RawJson::from_trusted(ByteString::from(out))
}

/// The `pid` and `offset` of a CONNECT payload, when both are strings.
pub(crate) fn recovery_fields(auth: &RawJson) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Fields<'a> {
        #[serde(borrow, default)]
        pid: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow, default)]
        offset: Option<&'a serde_json::value::RawValue>,
    }
    let fields: Fields<'_> = serde_json::from_str(auth.as_str()).ok()?;
    let pid: String = serde_json::from_str(fields.pid?.get()).ok()?;
    let offset: String = serde_json::from_str(fields.offset?.get()).ok()?;
    // Ours are 20 characters; anything long is not one we gave.
    (pid.len() <= MAX_RECOVERY_FIELD && offset.len() <= MAX_RECOVERY_FIELD).then_some((pid, offset))
}
