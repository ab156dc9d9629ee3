//! Connection state recovery with an external store (Node's cluster
//! adapters: the Redis Streams adapter keeps sessions in Redis and reads
//! missed packets back from its stream). The core then keeps nothing
//! itself: a leaving socket's session is handed out
//! ([`Event::PersistSession`]), a returning client's lookup is asked for
//! ([`Event::RestoreRequest`]) and answered ([`Server::answer_restore`]),
//! and a broadcast's offset is the one the caller supplies
//! ([`Server::broadcast_at_offset`]: the id its store gave the packet).

use alloc::vec::Vec;

use bytes::Bytes;
use bytestring::ByteString;

use super::broadcast::BroadcastOptions;
use super::recovery::{recovery_fields, RestoredSession};
use super::types::{ConnectRequestId, Event, ServerError};
use super::Server;
use crate::packet::{Parser, RawJson};
use crate::time::Instant;

impl<P: Parser> Server<P> {
    /// Switches connection state recovery (when configured) to an external
    /// store, from now on. Without recovery in the config it does nothing.
    pub fn use_external_recovery_store(&mut self) {
        self.external_recovery = self.recovery.is_some();
    }

    /// Whether recovery uses an external store.
    pub fn external_recovery_store(&self) -> bool {
        self.external_recovery
    }

    /// [`Server::broadcast`] of a packet the external store logged at
    /// `offset`: unless volatile, `offset` is appended to `data` as its
    /// last element, which the client sends back to recover. With a local
    /// store (or none) it is a plain broadcast.
    pub fn broadcast_at_offset(
        &mut self,
        now: Instant,
        nsp: &str,
        opts: &BroadcastOptions,
        data: RawJson,
        attachments: Vec<Bytes>,
        offset: &str,
    ) -> usize {
        if self.external_recovery {
            self.supplied_offset = Some(ByteString::from(offset));
        }
        let sent = self.broadcast(now, nsp, opts, data, attachments);
        self.supplied_offset = None;
        sent
    }

    /// Sharded, with the local store: takes the kept session `pid` of `nsp`
    /// out of this shard's store, with the packets it missed here after
    /// `offset` (for [`Server::answer_restore`] in the shard its client
    /// came back to). `None` when this shard does not keep it; no miss is
    /// counted (the asking shard counts it once all have answered).
    pub fn take_kept_session(
        &mut self,
        now: Instant,
        nsp: &str,
        pid: &str,
        offset: &str,
    ) -> Option<RestoredSession> {
        self.advance(now);
        let store = self.recovery.as_mut()?;
        let taken = store.take_or_miss(now, nsp, pid, offset, false)?;
        match store.missed(taken.since, &taken.session) {
            Some(missed) => Some(RestoredSession {
                session: taken.session,
                missed,
            }),
            None => {
                store.put_back(taken);
                None
            }
        }
    }

    /// Answers [`Event::RestoreRequest`] `request`: the session found (its
    /// `nsp` is taken from the request) with the packets it missed, or
    /// `None`. Then comes [`Event::ConnectRequest`], `recovering` when a
    /// session was found; accepting restores it. Fails when the request
    /// is unknown (answered already, or its connection closed meanwhile).
    pub fn answer_restore(
        &mut self,
        now: Instant,
        request: ConnectRequestId,
        restored: Option<RestoredSession>,
    ) -> Result<(), ServerError> {
        self.advance(now);
        let pending = self
            .requests
            .get_mut(&request)
            .ok_or(ServerError::UnknownRequest)?;
        if pending.supplied.is_some() {
            return Err(ServerError::UnknownRequest);
        }
        let recovering = restored.is_some();
        let mut restored = restored.map(|mut restored| {
            restored.session.nsp = pending.nsp.clone();
            restored
        });
        if let (false, Some(store)) = (self.external_recovery, self.recovery.as_mut()) {
            // Sharded: another shard handed it over (or none had it). What
            // it missed there is logged again here, with this shard's
            // offsets; at accept it gets all this shard logged since.
            match restored.as_mut() {
                Some(restored) => {
                    let missed = core::mem::take(&mut restored.missed);
                    let fields = pending.auth.as_ref().and_then(recovery_fields);
                    let offset = fields.as_ref().map(|(_, offset)| offset.as_str());
                    let from = store.relog(now, &restored.session, offset, missed);
                    pending.supplied_since = Some(from);
                }
                None => store.count_miss(),
            }
        }
        pending.supplied = restored;
        let session = pending.session;
        let nsp = pending.nsp.clone();
        let auth = pending.auth.clone();
        let dynamic = !self.namespaces.contains_key(&nsp);
        self.events.push_back(Event::ConnectRequest {
            request,
            session,
            nsp,
            auth,
            dynamic,
            recovering,
        });
        Ok(())
    }
}
