//! One namespace the client wants to be in: its connection state, the
//! emits waiting for it, and the acks it waits for.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use bytestring::ByteString;

use crate::packet::{Packet, RawJson};
use crate::time::Instant;

use super::retry::RetryQueue;

/// Where a namespace stands on the current Engine.IO connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NsState {
    /// Not wanted: never asked to connect, or left, disconnected by the
    /// server, or refused. Emits buffer until it is asked again.
    Dormant,
    /// No CONNECT sent on the current connection (none is open yet).
    Waiting,
    /// The application was asked for this attempt's auth
    /// ([`ClientEvent::AuthNeeded`](super::ClientEvent::AuthNeeded)); the
    /// CONNECT goes out with its answer.
    AwaitingAuth,
    /// CONNECT sent, no answer yet.
    Connecting,
    /// The server accepted; its socket id.
    Connected { sid: ByteString },
}

/// An ack the client waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingAck {
    /// When to give up; `None`: never.
    pub(crate) deadline: Option<Instant>,
    /// Whether the event went out (else it is still in the buffer).
    pub(crate) sent: bool,
}

#[derive(Debug)]
pub(crate) struct Namespace {
    pub(crate) name: ByteString,
    pub(crate) auth: Option<RawJson>,
    pub(crate) state: NsState,
    /// Emits made while not connected, in order; sent on the next connect.
    pub(crate) buffer: VecDeque<Packet>,
    pub(crate) acks: BTreeMap<u64, PendingAck>,
    /// Emits under the `retries` option.
    pub(crate) retry: RetryQueue,
    /// Connection state recovery: the private session id the server gave,
    /// and the offset of the last event seen (sent back on reconnection).
    pub(crate) pid: Option<ByteString>,
    pub(crate) last_offset: Option<ByteString>,
    /// Events that came before the CONNECT reply (a recovering server
    /// sends the missed ones first), delivered once connected.
    pub(crate) early: Vec<Packet>,
    next_ack_id: u64,
    /// Ask the application for the auth of every CONNECT (an auth
    /// function), instead of sending `auth`.
    pub(crate) auth_per_attempt: bool,
    /// The number of the last auth request, so a late answer to an
    /// earlier attempt is told apart.
    pub(crate) auth_request: u64,
}

impl Namespace {
    pub(crate) fn new(name: ByteString, auth: Option<RawJson>) -> Self {
        Namespace {
            name,
            auth,
            state: NsState::Dormant,
            buffer: VecDeque::new(),
            acks: BTreeMap::new(),
            retry: RetryQueue::default(),
            pid: None,
            last_offset: None,
            early: Vec::new(),
            next_ack_id: 0,
            auth_per_attempt: false,
            auth_request: 0,
        }
    }

    /// Whether the application wants it connected (the reference's `active`).
    pub(crate) fn is_active(&self) -> bool {
        self.state != NsState::Dormant
    }

    pub(crate) fn is_connected(&self) -> bool {
        matches!(self.state, NsState::Connected { .. })
    }

    /// A fresh ack id (from 0, as the reference client counts).
    pub(crate) fn take_ack_id(&mut self) -> u64 {
        let id = self.next_ack_id;
        self.next_ack_id = self.next_ack_id.wrapping_add(1);
        id
    }

    /// The earliest ack deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.acks.values().filter_map(|ack| ack.deadline).min()
    }

    /// Removes and returns the ids of acks due at `now`, dropping their
    /// events from the buffer if they never went out.
    pub(crate) fn take_due_acks(&mut self, now: Instant) -> alloc::vec::Vec<u64> {
        let due: alloc::vec::Vec<u64> = self
            .acks
            .iter()
            .filter(|(_, ack)| ack.deadline.is_some_and(|at| at <= now))
            .map(|(&id, _)| id)
            .collect();
        for id in &due {
            if self.acks.remove(id).is_some_and(|ack| !ack.sent) {
                self.buffer.retain(|packet| packet.id != Some(*id));
            }
        }
        due
    }

    /// Removes and returns the ids of acks whose events went out: the
    /// connection that carried them is gone, so no answer will come.
    pub(crate) fn take_sent_acks(&mut self) -> alloc::vec::Vec<u64> {
        let sent: alloc::vec::Vec<u64> = self
            .acks
            .iter()
            .filter(|(_, ack)| ack.sent)
            .map(|(&id, _)| id)
            .collect();
        for id in &sent {
            self.acks.remove(id);
        }
        sent
    }
}
