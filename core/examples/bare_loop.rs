//! The core with no async runtime at all: one thread, non-blocking std
//! sockets and a hand-written poll loop driving [`sio_core::server::Server`]
//! directly (not the `driver` module). Run it with
//! `cargo run -p sio-core --example bare_loop` (PORT=3000 by default) and
//! connect any Socket.IO client: `echo` is acked with its own arguments
//! (binary included), `chat` is relayed to everyone else.
//!
//! What an embedder on a constrained executor must provide (a bare-metal
//! loop, an RTOS task, a game loop) is exactly what this file does:
//!
//! - bytes in and out per connection: a way to read what a client sent and
//!   to write what the core hands out, and to notice that a connection
//!   closed. HTTP heads go through [`RequestParser`]; after an upgrade the
//!   raw bytes go to [`Server::handle_ws_data`].
//! - `now`: a monotonic clock as a core [`Instant`] (here [`StdClock`]).
//! - 32 random bytes once, as the seed of session and socket ids (here read
//!   from `/dev/urandom`; a hardware RNG on a microcontroller). The core has
//!   no random source of its own.
//! - the loop: feed input (`handle_request_from`, `handle_ws_data`,
//!   `handle_flushed`, `handle_conn_closed`, `handle_timeout` at the
//!   deadline), then drain `poll_output` until it returns `Output::Timeout`,
//!   then wait for new input or that deadline, whichever comes first.
//!
//! Without a readiness source (epoll, an interrupt) this loop polls every
//! socket and naps at most [`IDLE_NAP`] when nothing happened.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use bytestring::ByteString;
use sio_core::engine::{ConnId, Io};
use sio_core::packet::RawJson;
use sio_core::server::{BroadcastOptions, Config, Event, Output, Server, SocketId};
use sio_core::time::{Instant, StdClock};
use sio_core::wire::http::{Limits, RequestParser, Response};

/// Longest nap when no socket had anything to do.
const IDLE_NAP: Duration = Duration::from_millis(5);
/// Bytes read from one socket per loop turn.
const READ_CHUNK: usize = 4096;
/// Bytes a client may pipeline while its polling request is held.
const MAX_PIPELINED: usize = 1_100_000;

/// Where a TCP connection is in its life.
enum Phase {
    /// Reading an HTTP request.
    Http,
    /// The request `ConnId` is with the core (a held poll may wait long).
    Waiting { id: ConnId, keep_alive: bool },
    /// The connection carries WebSocket frames for `ConnId`.
    WebSocket { id: ConnId },
}

struct Conn {
    stream: TcpStream,
    peer: Option<SocketAddr>,
    parser: RequestParser,
    phase: Phase,
    /// Bytes waiting to be written.
    out: BytesMut,
    /// WebSocket bytes were queued since the last `handle_flushed`.
    unflushed: bool,
    /// Close once `out` is written.
    closing: bool,
    /// Gone: drop it and tell the core.
    dead: bool,
}

fn main() -> std::io::Result<()> {
    let config = Config::default();
    let limits = Limits {
        max_body_bytes: config.engine.max_http_buffer_size,
        ..Limits::default()
    };
    let mut server = Server::new(config, random_seed()?);
    let clock = StdClock::new();

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    listener.set_nonblocking(true)?;
    println!("listening on http://127.0.0.1:{port}");

    let mut conns: BTreeMap<u64, Conn> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut deadline: Option<Instant> = None;
    loop {
        let now = clock.now();
        let mut busy = accept_all(&listener, &mut conns, &mut next_id, limits);
        for conn in conns.values_mut() {
            busy |= conn.read_input(&mut server, now, &mut next_id);
        }
        if deadline.is_some_and(|at| at <= now) {
            server.handle_timeout(now);
        }
        drain(&mut server, &mut conns, now);
        for conn in conns.values_mut() {
            busy |= conn.write_output(&mut server, now);
        }
        conns.retain(|_, conn| {
            if conn.dead {
                if let Some(id) = conn.core_id() {
                    server.handle_conn_closed(now, id);
                }
            }
            !conn.dead
        });
        deadline = drain(&mut server, &mut conns, now);
        if !busy {
            let until_deadline = deadline.map_or(IDLE_NAP, |at| at.saturating_duration_since(now));
            std::thread::sleep(until_deadline.min(IDLE_NAP));
        }
    }
}

/// The embedder's random source: 32 bytes from the operating system.
fn random_seed() -> std::io::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

fn accept_all(
    listener: &TcpListener,
    conns: &mut BTreeMap<u64, Conn>,
    next_id: &mut u64,
    limits: Limits,
) -> bool {
    let mut accepted = false;
    while let Ok((stream, peer)) = listener.accept() {
        if stream.set_nonblocking(true).is_err() {
            continue;
        }
        let _ = stream.set_nodelay(true);
        conns.insert(take_id(next_id), Conn::new(stream, peer, limits));
        accepted = true;
    }
    accepted
}

fn take_id(next_id: &mut u64) -> u64 {
    *next_id += 1;
    *next_id
}

/// Drains the core until it asks to wait; returns the deadline it names.
fn drain(server: &mut Server, conns: &mut BTreeMap<u64, Conn>, now: Instant) -> Option<Instant> {
    loop {
        match server.poll_output() {
            Output::Io(io) => deliver(server, conns, now, io),
            Output::Event(event) => application(server, now, event),
            Output::Timeout(at) => return at,
            _ => {}
        }
    }
}

/// Puts one [`Io`] on the connection it names (if that is still open).
fn deliver(server: &mut Server, conns: &mut BTreeMap<u64, Conn>, now: Instant, io: Io) {
    let target = match &io {
        Io::Transmit { conn, .. }
        | Io::Respond { conn, .. }
        | Io::Upgrade { conn, .. }
        | Io::Close { conn }
        | Io::Abort { conn } => *conn,
        _ => return,
    };
    let Some(conn) = conns.values_mut().find(|c| c.core_id() == Some(target)) else {
        return;
    };
    match io {
        Io::Respond { response, .. } => {
            let keep_alive = matches!(
                conn.phase,
                Phase::Waiting {
                    keep_alive: true,
                    ..
                }
            );
            conn.respond(&response, keep_alive);
            conn.phase = Phase::Http;
        }
        Io::Upgrade { conn: id, response } => {
            response.encode(&mut conn.out);
            conn.phase = Phase::WebSocket { id };
            // Frames the client sent right behind its request.
            let early = conn.parser.take_buffered();
            if !early.is_empty() {
                server.handle_ws_data(now, id, &early);
            }
        }
        Io::Transmit { data, .. } => {
            conn.out.extend_from_slice(&data);
            conn.unflushed = true;
        }
        Io::Close { .. } => conn.closing = true,
        // Its peer does not read: what is queued goes, and so does it.
        Io::Abort { .. } => {
            conn.out.clear();
            conn.dead = true;
        }
        _ => {}
    }
}

/// The application: accept every namespace request, relay `chat`, ack `echo`.
fn application(server: &mut Server, now: Instant, event: Event) {
    match event {
        Event::ConnectRequest { request, .. } => {
            let _ = server.accept(now, request);
        }
        Event::Event {
            socket,
            data,
            attachments,
            ack,
        } => match data.event_name().as_deref() {
            Some("chat") => relay(server, now, socket, data),
            Some("echo") => {
                if let (Some(id), Some(args)) = (ack, args_of(&data)) {
                    let _ = server.ack(now, socket, id, args, attachments);
                }
            }
            _ => {}
        },
        _ => {}
    }
}

/// Sends the event as received to every other socket of its namespace.
fn relay(server: &mut Server, now: Instant, sender: SocketId, data: RawJson) {
    let Some(nsp) = server.socket_nsp(sender).map(String::from) else {
        return;
    };
    let others = BroadcastOptions {
        except_sockets: vec![sender],
        ..BroadcastOptions::default()
    };
    server.broadcast(now, &nsp, &others, data, Vec::new());
}

/// `["name", a, b]` -> `[a, b]` (placeholders keep their numbers).
fn args_of(data: &RawJson) -> Option<RawJson> {
    let elements = data.array_elements()?;
    let args = elements.get(1..).unwrap_or_default().join(",");
    RawJson::parse(ByteString::from(format!("[{args}]"))).ok()
}

/// Anything but "try again later" ends the connection.
fn is_fatal(error: &std::io::Error) -> bool {
    !matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted)
}

impl Conn {
    fn new(stream: TcpStream, peer: SocketAddr, limits: Limits) -> Self {
        Conn {
            stream,
            peer: Some(peer),
            parser: RequestParser::new(limits),
            phase: Phase::Http,
            out: BytesMut::new(),
            unflushed: false,
            closing: false,
            dead: false,
        }
    }

    /// The id the core knows this connection by right now, if any.
    fn core_id(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Http => None,
            Phase::Waiting { id, .. } | Phase::WebSocket { id } => Some(id),
        }
    }

    /// Reads what arrived and hands it on; returns whether anything did.
    fn read_input(&mut self, server: &mut Server, now: Instant, next_id: &mut u64) -> bool {
        let mut buf = [0u8; READ_CHUNK];
        let read = match self.stream.read(&mut buf) {
            Ok(n) => {
                self.dead |= n == 0;
                n
            }
            Err(e) => {
                self.dead |= is_fatal(&e);
                0
            }
        };
        let data = &buf[..read];
        match self.phase {
            Phase::WebSocket { id } if read > 0 => server.handle_ws_data(now, id, data),
            Phase::WebSocket { .. } => {}
            Phase::Waiting { .. } => {
                // Kept for after the held request; bounded.
                self.parser.feed(data);
                self.dead |= self.parser.buffered_len() > MAX_PIPELINED;
            }
            Phase::Http => {
                self.parser.feed(data);
                if !self.closing && !self.dead {
                    return self.next_request(server, now, next_id) || read > 0;
                }
            }
        }
        read > 0
    }

    /// Hands the next whole request to the core; returns whether there was one.
    fn next_request(&mut self, server: &mut Server, now: Instant, next_id: &mut u64) -> bool {
        match self.parser.poll_request() {
            Ok(Some(request)) if server.matches(&request) => {
                let id = ConnId(take_id(next_id));
                let keep_alive = request.keep_alive;
                self.phase = Phase::Waiting { id, keep_alive };
                server.handle_request_from(now, id, request, self.peer);
                true
            }
            Ok(Some(request)) => {
                let not_found =
                    Response::new(404).with_body("text/plain; charset=utf-8", "Not Found");
                self.respond(&not_found, request.keep_alive);
                true
            }
            Ok(None) => {
                if self.parser.take_expect_continue() {
                    self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                false
            }
            Err(error) => {
                let status = Response::new(error.status());
                self.respond(
                    &status.with_body("text/plain; charset=utf-8", error.to_string()),
                    false,
                );
                true
            }
        }
    }

    /// Queues an HTTP response; without keep-alive the connection closes after it.
    fn respond(&mut self, response: &Response, keep_alive: bool) {
        if keep_alive {
            response.encode(&mut self.out);
        } else {
            let closing = response.clone().with_header("Connection", "close");
            closing.encode(&mut self.out);
            self.closing = true;
        }
    }

    /// Writes what it can; tells the core when WebSocket bytes are all out.
    fn write_output(&mut self, server: &mut Server, now: Instant) -> bool {
        let mut wrote = false;
        while !self.out.is_empty() && !self.dead {
            match self.stream.write(&self.out) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.out.advance(n);
                    wrote = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => self.dead |= is_fatal(&e),
            }
        }
        if self.out.is_empty() {
            if let (true, Phase::WebSocket { id }) = (self.unflushed, &self.phase) {
                server.handle_flushed(now, *id);
                self.unflushed = false;
            }
            self.dead |= self.closing;
        }
        wrote
    }
}
