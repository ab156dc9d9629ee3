//! What one message from the bus is to one namespace of one node, as the
//! reference adapter's `onmessage`, `onrequest` and `onresponse` sort
//! them: its own messages and other namespaces' are ignored, responses
//! count only for requests pending here.

use bytes::Bytes;

use super::channel::{ChannelKind, Channels};
use super::message::{BroadcastMessage, MessageError, Request, Response};
use super::requests::PendingRequests;

/// A message worth acting on, or why it is not.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Incoming {
    /// A broadcast from another node to this namespace.
    Broadcast(BroadcastMessage),
    /// A request from another node.
    Request(Request),
    /// A response to a request pending here.
    Response(Response),
    /// Nothing to do.
    Ignored(Ignored),
}

/// Why a message is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// This node sent it.
    Own,
    /// Another namespace's (or key prefix's) channel, or a broadcast whose
    /// packet names another namespace.
    OtherNamespace,
    /// A response to a request not pending here (another node's, or one
    /// that has completed or timed out).
    NotForUs,
}

/// Sorts `payload`, published on `channel`, for namespace `nsp` of node
/// `uid` whose channels are `channels`. Errors are the sender's fault: log
/// and drop.
pub fn read_incoming(
    channels: &Channels,
    nsp: &str,
    uid: &str,
    channel: &str,
    payload: &Bytes,
    pending: &PendingRequests,
) -> Result<Incoming, MessageError> {
    match channels.classify(channel) {
        ChannelKind::Broadcast { .. } => {
            let message = BroadcastMessage::decode(payload)?;
            Ok(if message.uid == uid {
                Incoming::Ignored(Ignored::Own)
            } else if message.packet.nsp != nsp {
                Incoming::Ignored(Ignored::OtherNamespace)
            } else {
                Incoming::Broadcast(message)
            })
        }
        ChannelKind::Request => {
            let request = Request::decode(payload)?;
            Ok(if request.uid() == uid {
                Incoming::Ignored(Ignored::Own)
            } else {
                Incoming::Request(request)
            })
        }
        ChannelKind::Response => match Response::decode(payload, |id| pending.kind_of(id)) {
            Ok(response) if pending.kind_of(response.request_id()).is_some() => {
                Ok(Incoming::Response(response))
            }
            Ok(_) | Err(MessageError::UnknownRequest) => Ok(Incoming::Ignored(Ignored::NotForUs)),
            Err(error) => Err(error),
        },
        _ => Ok(Incoming::Ignored(Ignored::OtherNamespace)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{AdapterPacket, RequestType, Targets, Value};
    use crate::packet::PacketType;
    use crate::time::Instant;
    use alloc::string::String;
    use alloc::vec;

    fn broadcast(uid: &str, nsp: &str) -> Bytes {
        let message = BroadcastMessage {
            uid: uid.into(),
            packet: AdapterPacket {
                kind: PacketType::Event,
                nsp: nsp.into(),
                data: Some(Value::Array(vec![Value::str("e")])),
                id: None,
            },
            opts: Targets::default(),
        };
        Bytes::from(message.encode().unwrap())
    }

    #[test]
    fn sorts_broadcasts_requests_and_responses() {
        let channels = Channels::new("socket.io", "/", "me");
        let mut pending = PendingRequests::new();
        let read = |pending: &PendingRequests, channel: &str, payload: &Bytes| {
            read_incoming(&channels, "/", "me", channel, payload, pending)
        };
        assert_eq!(
            read(&pending, "socket.io#/#", &broadcast("me", "/")),
            Ok(Incoming::Ignored(Ignored::Own))
        );
        assert_eq!(
            read(&pending, "socket.io#/#room#", &broadcast("other", "/admin")),
            Ok(Incoming::Ignored(Ignored::OtherNamespace))
        );
        assert!(matches!(
            read(&pending, "socket.io#/#room#", &broadcast("other", "/")),
            Ok(Incoming::Broadcast(m)) if m.uid == "other"
        ));
        assert_eq!(
            read(&pending, "socket.io#/admin#", &broadcast("other", "/admin")),
            Ok(Incoming::Ignored(Ignored::OtherNamespace))
        );

        let request = Bytes::from_static(br#"{"uid":"other","requestId":"r1","type":1}"#);
        assert_eq!(
            read(&pending, "socket.io-request#/#", &request),
            Ok(Incoming::Request(Request::AllRooms {
                uid: "other".into(),
                request_id: "r1".into()
            }))
        );
        let own = Bytes::from_static(br#"{"uid":"me","requestId":"r1","type":1}"#);
        assert_eq!(
            read(&pending, "socket.io-request#/#", &own),
            Ok(Incoming::Ignored(Ignored::Own))
        );

        let response = Bytes::from_static(br#"{"requestId":"r2","rooms":["a"]}"#);
        assert_eq!(
            read(&pending, "socket.io-response#/#", &response),
            Ok(Incoming::Ignored(Ignored::NotForUs))
        );
        pending
            .register("r2", RequestType::AllRooms, 1, Instant::ZERO)
            .unwrap();
        assert_eq!(
            read(&pending, "socket.io-response#/#me#", &response),
            Ok(Incoming::Response(Response::AllRooms {
                request_id: "r2".into(),
                rooms: vec![String::from("a")]
            }))
        );
        // A typed response to nobody's request here.
        let count = Bytes::from_static(br#"{"type":8,"requestId":"zz","clientCount":1}"#);
        assert_eq!(
            read(&pending, "socket.io-response#/#", &count),
            Ok(Incoming::Ignored(Ignored::NotForUs))
        );
    }

    #[test]
    fn malformed_bytes_are_errors() {
        let channels = Channels::new("socket.io", "/", "me");
        let pending = PendingRequests::new();
        for (channel, bytes) in [
            ("socket.io#/#", &b"\xc1\xff"[..]),
            ("socket.io#/#", &b"\x93\x01\x02"[..]),
            ("socket.io-request#/#", &b"{not json"[..]),
            ("socket.io-request#/#", &br#"{"uid":"x","type":99}"#[..]),
            ("socket.io-response#/#", &b"\xff"[..]),
        ] {
            let payload = Bytes::copy_from_slice(bytes);
            assert!(
                read_incoming(&channels, "/", "me", channel, &payload, &pending).is_err(),
                "{channel} {bytes:?}"
            );
        }
        let other = Bytes::from_static(b"anything");
        assert_eq!(
            read_incoming(&channels, "/", "me", "elsewhere", &other, &pending),
            Ok(Incoming::Ignored(Ignored::OtherNamespace))
        );
    }
}
