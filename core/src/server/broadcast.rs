//! Broadcast options, and the one-encoding path every outgoing packet takes:
//! the packet is encoded once by the parser, its Engine.IO messages become
//! [`OutMessage`]s once, and each recipient gets clones of those (a clone
//! shares the buffer; nothing is allocated per recipient).

use alloc::vec::Vec;
use bytestring::ByteString;

use super::socket::SocketId;
use crate::engine::{EngineServer, OutMessage, SessionId};
use crate::packet::{Packet, Parser};

/// Who receives a broadcast.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Rooms to send to (their union); empty means the whole namespace.
    pub rooms: Vec<ByteString>,
    /// Sockets in any of these rooms are left out.
    pub except: Vec<ByteString>,
    /// These sockets are left out (the sender, for `socket.broadcast`).
    pub except_sockets: Vec<SocketId>,
    /// Drop the packet for recipients whose transport cannot take it now.
    pub volatile: bool,
}

/// Encodes `packet` into ready-to-send messages in `out` (cleared first;
/// the caller keeps it to reuse its allocation).
pub(crate) fn encode<P: Parser>(parser: &P, packet: &Packet, out: &mut Vec<OutMessage>) {
    out.clear();
    parser.encode_messages(packet, out);
}

/// Queues `messages` (one packet) for `session`; returns whether they were
/// queued. A volatile packet is dropped whole when its first message cannot
/// go out now; a closed session takes nothing (its close is on its way).
pub(crate) fn send(
    engine: &mut EngineServer,
    session: SessionId,
    messages: &[OutMessage],
    volatile: bool,
) -> bool {
    let Some((first, rest)) = messages.split_first() else {
        return false;
    };
    let queued = if volatile {
        engine.send_volatile(session, first).unwrap_or(false)
    } else {
        engine.send(session, first).is_ok()
    };
    if queued {
        for message in rest {
            // The rest of a packet follows its head even when volatile.
            let _ = engine.send(session, message);
        }
    }
    queued
}
