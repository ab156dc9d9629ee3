//! Running totals of one Engine.IO server: what metrics exporters and the
//! Admin UI's `server_stats` report. Plain counters the state machine bumps
//! as it works; the driver reads them (and diffs them) when it wants to.

use super::server::CloseReason;
use super::transport::Transport;

/// The number of [`CloseReason`]s, the length of [`EngineStats::closed`].
pub const CLOSE_REASONS: usize = 6;

/// Every [`CloseReason`], in the order of [`EngineStats::closed`].
pub const ALL_CLOSE_REASONS: [CloseReason; CLOSE_REASONS] = [
    CloseReason::TransportClose,
    CloseReason::TransportError,
    CloseReason::PingTimeout,
    CloseReason::ParseError,
    CloseReason::ForcedClose,
    CloseReason::ServerShutdown,
];

/// Totals since the server was made (but `polling_sessions`, a level).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineStats {
    /// Sessions opened over HTTP long-polling.
    pub opened_polling: u64,
    /// Sessions opened directly over WebSocket.
    pub opened_websocket: u64,
    /// Sessions upgraded from polling to WebSocket.
    pub upgrades: u64,
    /// Sessions closed, by reason (indexed as [`ALL_CLOSE_REASONS`]).
    pub closed: [u64; CLOSE_REASONS],
    /// Sessions dropped because their client left too much unread.
    pub backlog_drops: u64,
    /// Message packets received.
    pub packets_in: u64,
    /// Their data bytes (binary counted raw, text as UTF-8).
    pub bytes_in: u64,
    /// Message packets queued for clients (each recipient of a broadcast
    /// counts once).
    pub packets_out: u64,
    /// Their encoded bytes (the WebSocket frame payload).
    pub bytes_out: u64,
    /// Sessions open now on polling (not upgraded yet).
    pub polling_sessions: u64,
}

impl EngineStats {
    /// Adds `other`'s totals (and level) to these: the totals of a server
    /// run as shards.
    pub fn add(&mut self, other: &EngineStats) {
        self.opened_polling += other.opened_polling;
        self.opened_websocket += other.opened_websocket;
        self.upgrades += other.upgrades;
        for (mine, theirs) in self.closed.iter_mut().zip(other.closed) {
            *mine += theirs;
        }
        self.backlog_drops += other.backlog_drops;
        self.packets_in += other.packets_in;
        self.bytes_in += other.bytes_in;
        self.packets_out += other.packets_out;
        self.bytes_out += other.bytes_out;
        self.polling_sessions += other.polling_sessions;
    }

    /// Sessions closed with `reason`.
    pub fn closed_with(&self, reason: CloseReason) -> u64 {
        self.closed[reason_index(reason)]
    }

    pub(crate) fn on_open(&mut self, transport: Transport) {
        match transport {
            Transport::Polling => {
                self.opened_polling += 1;
                self.polling_sessions += 1;
            }
            Transport::WebSocket => self.opened_websocket += 1,
        }
    }

    pub(crate) fn on_upgrade(&mut self) {
        self.upgrades += 1;
        self.polling_sessions = self.polling_sessions.saturating_sub(1);
    }

    pub(crate) fn on_close(&mut self, reason: CloseReason, transport: Transport, backlog: bool) {
        self.closed[reason_index(reason)] += 1;
        if transport == Transport::Polling {
            self.polling_sessions = self.polling_sessions.saturating_sub(1);
        }
        if backlog {
            self.backlog_drops += 1;
        }
    }

    pub(crate) fn on_packet_in(&mut self, bytes: usize) {
        self.packets_in += 1;
        self.bytes_in += bytes as u64;
    }

    pub(crate) fn on_packet_out(&mut self, bytes: usize) {
        self.packets_out += 1;
        self.bytes_out += bytes as u64;
    }
}

fn reason_index(reason: CloseReason) -> usize {
    match reason {
        CloseReason::TransportClose => 0,
        CloseReason::TransportError => 1,
        CloseReason::PingTimeout => 2,
        CloseReason::ParseError => 3,
        CloseReason::ForcedClose => 4,
        CloseReason::ServerShutdown => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_index_in_their_listed_order() {
        for (i, reason) in ALL_CLOSE_REASONS.iter().enumerate() {
            assert_eq!(reason_index(*reason), i);
        }
    }
}
