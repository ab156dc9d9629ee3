//! The recording server: the demo application (`sio_replay::app`) on a
//! loopback port with non-blocking std sockets, logging every input it
//! feeds its machine and every effect, with the time, as a transcript.
//! `firmware/record/run` starts it and runs the npm client against it.
//!
//! Usage: `record-server OUT.txt` prints `listening <port>`, serves, and
//! writes the transcript once every connection it had has closed and none
//! came for half a second. Clock: milliseconds since it started, as the
//! replay's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use sio_core::time::Instant;
use sio_replay::machine::{Effect, Input, Machine};
use sio_replay::transcript;

/// The ids' seed: fixed, so that the replay draws the same ids.
const SEED: [u8; 32] = *b"sio firmware transcript seed 001";
/// How long the server waits, with no connection left, before it stops.
const IDLE_END: Duration = Duration::from_millis(500);

struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    closing: bool,
}

struct Recorder {
    machine: Machine,
    conns: BTreeMap<u64, Conn>,
    log: String,
    start: StdInstant,
}

impl Recorder {
    fn now(&self) -> (u64, Instant) {
        let ms = self.start.elapsed().as_millis() as u64;
        (ms, Instant::from_millis(ms))
    }

    /// Feeds one input, logging it and its effects, and applies the effects.
    fn feed(&mut self, input: Input) {
        let (ms, now) = self.now();
        transcript::write_input(&mut self.log, ms, &input, true).expect("a String takes writes");
        self.log.push('\n');
        let mut effects = Vec::new();
        self.machine.handle(now, &input, &mut |e| effects.push(e));
        for effect in effects {
            transcript::write_effect(&mut self.log, &effect).expect("a String takes writes");
            self.log.push('\n');
            match effect {
                Effect::Write(c, data) => {
                    if let Some(conn) = self.conns.get_mut(&c) {
                        conn.out.extend_from_slice(&data);
                    }
                }
                Effect::Close(c) => {
                    if let Some(conn) = self.conns.get_mut(&c) {
                        conn.closing = true;
                    }
                }
                Effect::Abort(c) => {
                    if let Some(conn) = self.conns.get_mut(&c) {
                        conn.out.clear();
                        conn.closing = true;
                    }
                }
            }
        }
    }

    /// Reads what each connection has; returns whether anything came.
    fn read_all(&mut self) -> bool {
        let mut busy = false;
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for id in ids {
            let mut buf = [0u8; 16 * 1024];
            let read = self.conns.get_mut(&id).map(|c| c.stream.read(&mut buf));
            match read {
                Some(Ok(0)) => self.close(id),
                Some(Ok(n)) => {
                    busy = true;
                    self.feed(Input::Data(id, buf[..n].to_vec()));
                }
                Some(Err(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Some(Err(_)) => self.close(id),
                None => {}
            }
        }
        busy
    }

    /// Writes what each connection has queued; reports flushes and closes.
    fn write_all(&mut self) -> bool {
        let mut busy = false;
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for id in ids {
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            let mut failed = false;
            while !conn.out.is_empty() {
                match conn.stream.write(&conn.out) {
                    Ok(0) => failed = true,
                    Ok(n) => {
                        conn.out.drain(..n);
                        busy = true;
                        continue;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => failed = true,
                }
                break;
            }
            let (empty, closing) = (conn.out.is_empty(), conn.closing);
            if failed || (empty && closing) {
                self.close(id);
            } else if empty && self.machine.wants_flushed(id) {
                self.feed(Input::Flushed(id));
                busy = true;
            }
        }
        busy
    }

    fn close(&mut self, id: u64) {
        if let Some(conn) = self.conns.remove(&id) {
            let _ = conn.stream.shutdown(std::net::Shutdown::Both);
            self.feed(Input::Closed(id));
        }
    }
}

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .expect("usage: record-server OUT.txt");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    println!("listening {}", listener.local_addr()?.port());
    let mut rec = Recorder {
        machine: Machine::new(SEED),
        conns: BTreeMap::new(),
        log: String::new(),
        start: StdInstant::now(),
    };
    let _ = write!(rec.log, "seed ");
    for byte in SEED {
        let _ = write!(rec.log, "{byte:02x}");
    }
    rec.log.push('\n');
    let mut next_conn = 0;
    let mut idle_since: Option<StdInstant> = None;
    loop {
        let mut busy = false;
        while let Ok((stream, _)) = listener.accept() {
            stream.set_nonblocking(true)?;
            let _ = stream.set_nodelay(true);
            next_conn += 1;
            rec.conns.insert(
                next_conn,
                Conn {
                    stream,
                    out: Vec::new(),
                    closing: false,
                },
            );
            rec.feed(Input::Open(next_conn));
            busy = true;
        }
        busy |= rec.read_all();
        let (_, now) = rec.now();
        if rec.machine.deadline().is_some_and(|at| at <= now) {
            rec.feed(Input::Tick);
        }
        busy |= rec.write_all();
        if next_conn > 0 && rec.conns.is_empty() {
            let since = *idle_since.get_or_insert_with(StdInstant::now);
            if since.elapsed() >= IDLE_END {
                break;
            }
        } else {
            idle_since = None;
        }
        if !busy {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    std::fs::write(&out, &rec.log)?;
    eprintln!(
        "record-server: {} bytes of transcript in {out}",
        rec.log.len()
    );
    Ok(())
}
