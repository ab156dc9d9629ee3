//! What the server and the client both name: a connection's id and an
//! Engine.IO transport. One definition of each, re-exported as
//! `engine::{ConnId, Transport}`, `engine::server::{ConnId, Transport}` and
//! `client::{ConnId, Transport}`.

/// The id of one connection. The server's driver chooses it, one per HTTP
/// request (a request that becomes a WebSocket keeps its id as the
/// WebSocket's id); the client chooses its own, a new one per connection it
/// asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl ConnId {
    /// The number behind the id.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// An Engine.IO transport (the names of the reference's `transports`
/// option and of the `transport` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling: a pending GET for the server's packets, POSTs for
    /// the client's.
    Polling,
    /// One WebSocket both ways.
    WebSocket,
}

impl Transport {
    /// The client's former spelling of [`Transport::WebSocket`], from when
    /// the client had a `Transport` of its own.
    #[deprecated(note = "use Transport::WebSocket")]
    #[allow(non_upper_case_globals)]
    pub const Websocket: Transport = Transport::WebSocket;

    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Transport;

    /// Code written against the client's old `Transport::Websocket` still
    /// builds, in expressions and in patterns.
    #[test]
    #[allow(deprecated)]
    fn old_spelling_still_works() {
        let t = Transport::Websocket;
        assert_eq!(t, Transport::WebSocket);
        let name = match t {
            Transport::Polling => "polling",
            Transport::Websocket => "websocket",
        };
        assert_eq!(name, t.as_str());
    }
}
