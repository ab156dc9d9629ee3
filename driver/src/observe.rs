//! What an observer of the server (the Admin UI's instrumentation) is told:
//! sockets coming and going, rooms joined and left, upgrades and, when it
//! asks, every event in and out. Routing sends these under the state lock,
//! so they go on a bounded channel without waiting: when the observer falls
//! behind, what does not fit is dropped (and counted), never queued without
//! bound.
//!
//! Floor: the bottom one. The routing floors send; the observer (the
//! `admin` module, at the top) receives.

use std::sync::atomic::{AtomicU64, Ordering};

use async_channel::{Receiver, Sender};
use bytes::Bytes;
use bytestring::ByteString;
use sio_core::engine::Transport;
use sio_core::packet::RawJson;
use sio_core::server::{Event, Server, SocketId};

/// How many observations may wait for the observer.
pub(crate) const OBSERVER_QUEUE: usize = 4096;

/// One thing the server saw.
#[derive(Debug)]
pub(crate) enum Observed {
    /// A socket joined its namespace (read it back by its id), with what
    /// it was then: its rooms and its engine session's id and transport
    /// (the UI's `rooms`, `clientId` and `transport` at connection, as
    /// Node reports them before any handler runs).
    Connected {
        socket: SocketId,
        at_connect: EngineView,
    },
    Disconnected {
        nsp: ByteString,
        sid: ByteString,
        reason: &'static str,
    },
    RoomJoined {
        nsp: ByteString,
        sid: ByteString,
        room: ByteString,
    },
    RoomLeft {
        nsp: ByteString,
        sid: ByteString,
        room: ByteString,
    },
    /// The application set a socket's `data`.
    DataUpdated {
        nsp: ByteString,
        sid: ByteString,
        data: serde_json::Value,
    },
    /// A socket's session moved to WebSocket.
    Upgraded { nsp: ByteString, sid: ByteString },
    /// An event the client sent: `["name", ...args]` and its attachments.
    EventIn {
        nsp: ByteString,
        sid: ByteString,
        data: RawJson,
        attachments: Vec<Bytes>,
    },
    /// An event emitted to one socket.
    EventOut {
        nsp: ByteString,
        sid: ByteString,
        data: RawJson,
        attachments: Vec<Bytes>,
    },
}

/// A socket as the core knows it at one instant.
#[derive(Debug, Clone, Default)]
pub(crate) struct EngineView {
    /// Its rooms, its own id included.
    pub(crate) rooms: Vec<String>,
    /// Its Engine.IO session's id.
    pub(crate) session_id: Option<ByteString>,
    /// Its session's transport now.
    pub(crate) transport: Option<Transport>,
}

impl EngineView {
    /// What `server` knows of `socket` now.
    pub(crate) fn of(server: &Server, socket: SocketId) -> EngineView {
        let rooms = server
            .rooms(socket)
            .map(|rooms| rooms.map(str::to_owned).collect())
            .unwrap_or_default();
        let session = server.socket_session(socket);
        let engine = server.engine();
        EngineView {
            rooms,
            session_id: session
                .and_then(|s| engine.handshake(s))
                .map(|h| h.sid.clone()),
            transport: session.and_then(|s| engine.transport(s)),
        }
    }
}

/// The sending side, kept by the server.
pub(crate) struct Observer {
    tx: Sender<Observed>,
    /// Whether events in and out are wanted (they cost a copy each).
    pub(crate) events: bool,
    dropped: AtomicU64,
}

impl Observer {
    /// An observer and the receiver its task reads.
    pub(crate) fn new(events: bool) -> (Observer, Receiver<Observed>) {
        let (tx, rx) = async_channel::bounded(OBSERVER_QUEUE);
        let observer = Observer {
            tx,
            events,
            dropped: AtomicU64::new(0),
        };
        (observer, rx)
    }

    /// A socket left: it is gone, then out of every room it was in (as
    /// Node's adapter reports it).
    pub(crate) fn disconnected(
        &self,
        nsp: &ByteString,
        sid: &str,
        reason: &'static str,
        rooms: &[ByteString],
    ) {
        let sid = ByteString::from(sid);
        self.tell(Observed::Disconnected {
            nsp: nsp.clone(),
            sid: sid.clone(),
            reason,
        });
        for room in rooms {
            self.tell(Observed::RoomLeft {
                nsp: nsp.clone(),
                sid: sid.clone(),
                room: room.clone(),
            });
        }
    }

    /// The core's observer events (rooms joined and left, upgrades), with
    /// the socket ids the observer reports.
    pub(crate) fn core_event(&self, server: &Server, event: Event) {
        let sid = |socket| server.socket_sid(socket).map(ByteString::from);
        match event {
            Event::RoomJoined { socket, nsp, room } => {
                if let Some(sid) = sid(socket) {
                    self.tell(Observed::RoomJoined { nsp, sid, room });
                }
            }
            Event::RoomLeft { socket, nsp, room } => {
                if let Some(sid) = sid(socket) {
                    self.tell(Observed::RoomLeft { nsp, sid, room });
                }
            }
            Event::Upgraded { session } => {
                for socket in server.session_sockets(session) {
                    if let (Some(sid), Some(nsp)) = (sid(socket), server.socket_nsp(socket)) {
                        let nsp = ByteString::from(nsp);
                        self.tell(Observed::Upgraded { nsp, sid });
                    }
                }
            }
            _ => {}
        }
    }

    /// Hands `observed` over without waiting; a full queue drops it.
    pub(crate) fn tell(&self, observed: Observed) {
        if self.tx.try_send(observed).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Logged at powers of two: a stalled observer does not flood the log.
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "observer queue full; observations dropped");
            }
        }
    }
}
