//! Session timers (ping, pong deadline, upgrade, linger) and the close
//! deadline of connections the server closes.

use alloc::boxed::Box;
use bytestring::ByteString;
use core::time::Duration;
use hashbrown::HashMap;

use super::messages::close_frame;
use super::types::CloseReason;
use super::{EngineServer, Farewell};
use crate::engine::packet::Packet;
use crate::engine::session::{Queued, Session};
use crate::engine::timer::{TimerEntry, TimerKind};
use crate::time::Instant;

/// Timers.
impl EngineServer {
    pub(super) fn fire(&mut self, now: Instant, id: u64, kind: TimerKind) {
        match kind {
            TimerKind::Ping => {
                self.enqueue(id, Queued::Control(Packet::Ping(ByteString::new())));
                if self.sessions.contains_key(&id) {
                    self.arm(id, TimerKind::PongDeadline, now + self.config.ping_timeout);
                }
            }
            // As the reference, the pong deadline also ends a session
            // closed by the server that still waits for its last GET.
            TimerKind::PongDeadline if self.sessions.get(&id).is_some_and(|s| s.lingering) => {
                self.forget(id)
            }
            TimerKind::PongDeadline => {
                self.close_session(now, id, CloseReason::PingTimeout, Farewell::Failed)
            }
            TimerKind::Upgrade => self.abort_upgrade(id, Some(close_frame(None))),
            TimerKind::Linger => self.forget(id),
        }
    }

    pub(super) fn arm(&mut self, id: u64, kind: TimerKind, at: Instant) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        session.timers.set(kind, Some(at));
        self.timers.push(TimerEntry {
            at,
            session: id,
            kind,
        });
        if self.timers.needs_purge(self.sessions.len()) {
            let sessions = &self.sessions;
            self.timers.retain(|entry| is_live(sessions, entry));
        }
    }

    /// The earliest live deadline; stale entries on top are dropped.
    pub(super) fn next_deadline(&mut self) -> Option<Instant> {
        let mut session = None;
        while let Some(entry) = self.timers.peek() {
            if is_live(&self.sessions, &entry) {
                session = Some(entry.at);
                break;
            }
            self.timers.pop();
        }
        let mut closing = None;
        while let Some(&(at, conn)) = self.closing.front() {
            if self.closing_at.get(&conn) == Some(&at) {
                closing = Some(at);
                break;
            }
            self.closing.pop_front();
        }
        match (session, closing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

pub(super) fn is_live(sessions: &HashMap<u64, Box<Session>>, entry: &TimerEntry) -> bool {
    sessions
        .get(&entry.session)
        .is_some_and(|s| s.timers.get(entry.kind) == Some(entry.at))
}

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
