//! The connections around one [`Server`]: HTTP heads parsed, requests
//! handed in, responses and frames handed out, as `core/examples/bare_loop.rs`
//! does over sockets, but with no socket at all. Whatever carries the bytes
//! (the recording server's TCP sockets, a transcript on the firmware) feeds
//! [`Input`]s and acts on [`Effect`]s, so the same inputs give the same
//! effects wherever this runs.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};
use sio_core::engine::{ConnId, Io};
use sio_core::server::{Output, Server};
use sio_core::time::Instant;
use sio_core::wire::http::{Limits, RequestParser, Response};

use crate::app::App;

/// Bytes a client may pipeline behind a request that the core holds, beyond
/// the largest body: room for a request head (16 KiB at most) and more.
const PIPELINED_HEADS: usize = 64 * 1024;

/// What happens to the machine: one line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A client opened connection `conn`.
    Open(u64),
    /// Connection `conn` received these bytes.
    Data(u64, Vec<u8>),
    /// Everything written on connection `conn` has left.
    Flushed(u64),
    /// Connection `conn` is gone (either side closed it).
    Closed(u64),
    /// The core's deadline passed: time to call `handle_timeout`.
    Tick,
}

/// What the machine asks of whatever carries its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write these bytes on connection `conn`.
    Write(u64, Bytes),
    /// Close connection `conn` once what was written has left.
    Close(u64),
    /// Drop what is queued for connection `conn` and close it now.
    Abort(u64),
}

/// Where a connection is in its life (bare_loop's `Phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading an HTTP request.
    Http,
    /// The core holds request `id` (a long poll may wait a while).
    Waiting { id: ConnId, keep_alive: bool },
    /// The connection carries WebSocket frames for `id`.
    WebSocket { id: ConnId },
}

struct Conn {
    parser: RequestParser,
    phase: Phase,
    /// WebSocket bytes went out since the last `handle_flushed`.
    unflushed: bool,
    /// Closing once its output has left: take no more requests.
    closing: bool,
}

impl Conn {
    fn core_id(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Http => None,
            Phase::Waiting { id, .. } | Phase::WebSocket { id } => Some(id),
        }
    }
}

/// A server, its application and its connections.
pub struct Machine {
    server: Server,
    app: App,
    limits: Limits,
    /// Bytes a connection may pipeline while the core holds its request.
    max_pipelined: usize,
    conns: BTreeMap<u64, Conn>,
    next_core_id: u64,
    deadline: Option<Instant>,
}

impl Machine {
    /// A machine with [`crate::app::config`] and ids drawn from `seed`.
    pub fn new(seed: [u8; 32]) -> Self {
        Machine::with_config(crate::app::config(), seed)
    }

    /// A machine with `config` and ids drawn from `seed`.
    pub fn with_config(config: sio_core::server::Config, seed: [u8; 32]) -> Self {
        let limits = Limits {
            max_body_bytes: config.engine.max_http_buffer_size,
            ..Limits::default()
        };
        Machine {
            max_pipelined: limits.max_body_bytes + PIPELINED_HEADS,
            server: Server::new(config, seed),
            app: App::default(),
            limits,
            conns: BTreeMap::new(),
            next_core_id: 0,
            deadline: None,
        }
    }

    /// The core's next deadline: feed [`Input::Tick`] once it has passed.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether connection `conn` carries WebSocket bytes not yet reported
    /// flushed (the carrier feeds [`Input::Flushed`] once they have left).
    pub fn wants_flushed(&self, conn: u64) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.unflushed)
    }

    /// Whether the core holds a request of connection `conn` (a long poll,
    /// say): its response is still to come.
    pub fn awaits_response(&self, conn: u64) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| matches!(c.phase, Phase::Waiting { .. }))
    }

    /// Runs an application command (`f` with the server) at `now`, then
    /// hands out its effects as [`Machine::handle`] does.
    pub fn act<T>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Server) -> T,
        effects: &mut impl FnMut(Effect),
    ) -> T {
        let result = f(&mut self.server);
        self.drain(now, effects);
        result
    }

    /// The server, read only.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The application's state.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Hands `input` to the core at `now`; every effect goes to `effects`,
    /// in order.
    pub fn handle(&mut self, now: Instant, input: &Input, effects: &mut impl FnMut(Effect)) {
        match input {
            Input::Open(conn) => {
                self.conns.insert(
                    *conn,
                    Conn {
                        parser: RequestParser::new(self.limits),
                        phase: Phase::Http,
                        unflushed: false,
                        closing: false,
                    },
                );
            }
            Input::Data(conn, data) => self.data(now, *conn, data, effects),
            Input::Flushed(conn) => {
                if let Some(c) = self.conns.get_mut(conn) {
                    if let (true, Phase::WebSocket { id }) = (c.unflushed, c.phase) {
                        c.unflushed = false;
                        self.server.handle_flushed(now, id);
                    }
                }
            }
            Input::Closed(conn) => {
                if let Some(id) = self.conns.remove(conn).and_then(|c| c.core_id()) {
                    self.server.handle_conn_closed(now, id);
                }
            }
            Input::Tick => self.server.handle_timeout(now),
        }
        self.drain(now, effects);
    }

    /// Bytes from a client: WebSocket data, or HTTP requests.
    fn data(&mut self, now: Instant, conn: u64, data: &[u8], effects: &mut impl FnMut(Effect)) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        match c.phase {
            Phase::WebSocket { id } => self.server.handle_ws_data(now, id, data),
            Phase::Waiting { .. } => {
                c.parser.feed(data);
                if c.parser.buffered_len() > self.max_pipelined {
                    effects(Effect::Abort(conn));
                }
            }
            Phase::Http => {
                c.parser.feed(data);
                self.next_requests(now, conn, effects);
            }
        }
    }

    /// Hands the connection's next whole requests to the core while it
    /// reads HTTP.
    fn next_requests(&mut self, now: Instant, conn: u64, effects: &mut impl FnMut(Effect)) {
        while let Some(c) = self.conns.get_mut(&conn) {
            if c.phase != Phase::Http || c.closing {
                return;
            }
            match c.parser.poll_request() {
                Ok(Some(request)) if self.server.matches(&request) => {
                    self.next_core_id += 1;
                    let id = ConnId(self.next_core_id);
                    c.phase = Phase::Waiting {
                        id,
                        keep_alive: request.keep_alive,
                    };
                    self.server.handle_request(now, id, request);
                    self.drain(now, effects);
                }
                Ok(Some(request)) => {
                    let not_found =
                        Response::new(404).with_body("text/plain; charset=utf-8", "Not Found");
                    respond(conn, c, &not_found, request.keep_alive, effects);
                }
                Ok(None) => {
                    if c.parser.take_expect_continue() {
                        let go_on = Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n");
                        effects(Effect::Write(conn, go_on));
                    }
                    return;
                }
                Err(error) => {
                    let status = Response::new(error.status())
                        .with_body("text/plain; charset=utf-8", alloc::format!("{error}"));
                    respond(conn, c, &status, false, effects);
                }
            }
        }
    }

    /// Drains the core until it names its next deadline.
    fn drain(&mut self, now: Instant, effects: &mut impl FnMut(Effect)) {
        loop {
            match self.server.poll_output() {
                Output::Io(io) => self.deliver(now, io, effects),
                Output::Event(event) => self.app.handle(&mut self.server, now, event),
                Output::Timeout(at) => {
                    self.deadline = at;
                    return;
                }
                _ => {}
            }
        }
    }

    /// Puts one [`Io`] on the connection it names, if that is still open.
    fn deliver(&mut self, now: Instant, io: Io, effects: &mut impl FnMut(Effect)) {
        let target = io.conn();
        let Some((&conn, c)) = self
            .conns
            .iter_mut()
            .find(|(_, c)| c.core_id() == Some(target))
        else {
            return;
        };
        match io {
            Io::Respond { response, .. } => {
                let keep_alive = matches!(
                    c.phase,
                    Phase::Waiting {
                        keep_alive: true,
                        ..
                    }
                );
                c.phase = Phase::Http;
                respond(conn, c, &response, keep_alive, effects);
                // Requests pipelined behind the one just answered.
                self.next_requests(now, conn, effects);
            }
            Io::Upgrade { conn: id, response } => {
                let mut head = BytesMut::new();
                response.encode(&mut head);
                effects(Effect::Write(conn, head.freeze()));
                c.phase = Phase::WebSocket { id };
                // Frames the client sent right behind its request.
                let early = c.parser.take_buffered();
                if !early.is_empty() {
                    self.server.handle_ws_data(now, id, &early);
                }
            }
            Io::Transmit { data, .. } => {
                c.unflushed = true;
                effects(Effect::Write(conn, data));
            }
            Io::Close { .. } => {
                c.closing = true;
                effects(Effect::Close(conn));
            }
            Io::Abort { .. } => effects(Effect::Abort(conn)),
            _ => {}
        }
    }
}

/// Writes an HTTP response; without keep-alive the connection closes after it.
fn respond(
    conn: u64,
    c: &mut Conn,
    response: &Response,
    keep_alive: bool,
    effects: &mut impl FnMut(Effect),
) {
    let mut out = BytesMut::new();
    if keep_alive {
        response.encode(&mut out);
        effects(Effect::Write(conn, out.freeze()));
    } else {
        response
            .clone()
            .with_header("Connection", "close")
            .encode(&mut out);
        effects(Effect::Write(conn, out.freeze()));
        c.closing = true;
        effects(Effect::Close(conn));
    }
}
