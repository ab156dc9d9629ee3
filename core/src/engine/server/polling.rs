//! Long-polling: held GETs, POSTed payloads, batching queued packets into
//! one response.

use bytes::Bytes;

use super::requests::{build_response, TEXT_PLAIN};
use super::types::CloseReason;
use super::{ConnId, ConnRole, EngineServer, Farewell, Transport};
use crate::engine::cors::Headers;
use crate::engine::packet::Packet;
use crate::engine::payload::SEPARATOR;
use crate::engine::session::HeldGet;
use crate::time::Instant;
use crate::wire::http::{compression, Request};
use alloc::boxed::Box;
use alloc::string::String;

/// Polling.
impl EngineServer {
    pub(super) fn on_poll(&mut self, conn: ConnId, req: &Request, id: u64) {
        let get = self.held_get(conn, req);
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        if session.lingering {
            // A session the server closed: first its packets, then (in the
            // next GET, as the reference drains before closing) `1`.
            if session.queue.len() > 1 {
                let close = session.queue.pop_back();
                let (body, compress) = session.take_poll_body();
                if let Some(close) = close {
                    session.push(close);
                }
                self.answer_poll(get.compressible(compress), body);
            } else {
                let (body, compress) = session.take_poll_body();
                self.answer_poll(get.compressible(compress), body);
                self.forget(id);
            }
            return;
        }
        if session.held_get.is_some() {
            // Overlapping GETs: the held one gets `1`, this one a bare 400.
            self.close_session(self.now, id, CloseReason::TransportError, Farewell::Failed);
            self.respond(conn, build_response(400, None, Bytes::new(), get.headers));
            return;
        }
        if session.polling_paused() {
            self.answer_poll(get, Bytes::from_static(b"6"));
            return;
        }
        session.held_get = Some(Box::new(get));
        let has_data = !session.queue.is_empty();
        self.conns.insert(conn, ConnRole::HeldGet(id));
        if has_data {
            self.flush_poll(id);
        }
    }

    /// Fails session `id` once the 413 of its POST `conn` is written
    /// (see `ConnRole::Refused`).
    pub(super) fn refuse_post(&mut self, id: u64, conn: ConnId) {
        if self.sessions.get(&id).is_some_and(|s| !s.lingering) {
            self.conns.insert(conn, ConnRole::Refused(id));
        }
    }

    pub(super) fn on_post(&mut self, now: Instant, conn: ConnId, req: &Request, id: u64) {
        let headers = self.polling_headers(req);
        if self.sessions.get(&id).is_some_and(|s| s.lingering) {
            return self.answer_ok(conn, headers);
        }
        if req.header("content-type") == Some("application/octet-stream") {
            // v4 payloads are text; the reference fails the transport.
            self.close_session(now, id, CloseReason::TransportError, Farewell::Failed);
            self.respond(conn, build_response(400, None, Bytes::new(), headers));
            return;
        }
        if req.body.len() > self.config.max_http_buffer_size {
            // As the reference (engine.io 6.6, "payload too large"): 413,
            // then the session fails.
            self.respond(conn, build_response(413, None, Bytes::new(), headers));
            self.refuse_post(id, conn);
            return;
        }
        self.process_payload(now, id, req.body.clone());
        self.answer_ok(conn, headers);
    }

    /// Handles the records of a POST body in order, up to a close or the
    /// first record that does not parse (records before it count).
    pub(super) fn process_payload(&mut self, now: Instant, id: u64, body: Bytes) {
        let records = body.iter().filter(|&&b| b == SEPARATOR).count() + 1;
        if records > self.config.max_payload_packets {
            self.close_session(now, id, CloseReason::ParseError, Farewell::Failed);
            return;
        }
        for record in body.split(|&b| b == SEPARATOR) {
            if !self.sessions.contains_key(&id) {
                return;
            }
            match Packet::decode_record(body.slice_ref(record)) {
                Err(_) => {
                    self.close_session(now, id, CloseReason::ParseError, Farewell::Failed);
                    return;
                }
                Ok(packet) => self.on_packet(now, id, packet),
            }
        }
    }

    pub(super) fn answer_ok(&mut self, conn: ConnId, headers: Headers) {
        let body = Bytes::from_static(b"ok");
        self.respond(conn, build_response(200, Some("text/html"), body, headers));
    }

    /// A polling GET to answer: its headers, and the coding its answer may
    /// use if compression is on and the client accepts one.
    fn held_get(&self, conn: ConnId, req: &Request) -> HeldGet {
        let coding = self.config.http_compression.and_then(|_| {
            compression::negotiate(
                req.headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("accept-encoding"))
                    .map(|h| h.value.as_str()),
            )
        });
        HeldGet {
            conn,
            headers: self.polling_headers(req),
            coding,
        }
    }

    /// Answers a polling GET with `body`, compressed as engine.io does when
    /// it reaches the threshold and the client accepts a coding.
    pub(super) fn answer_poll(&mut self, get: HeldGet, body: Bytes) {
        let mut headers = get.headers;
        let mut body = body;
        if let (Some(coding), Some(options)) = (get.coding, self.config.http_compression) {
            if body.len() >= options.threshold {
                body = Bytes::from(coding.encode(&body, options.level));
                headers.push(("Content-Encoding".into(), String::from(coding.as_str())));
            }
        }
        let response = build_response(200, Some(TEXT_PLAIN), body, headers);
        self.respond(get.conn, response);
    }

    /// Lists `id` for a flush to its held GET, if there is something to flush.
    pub(super) fn mark_dirty(&mut self, id: u64) {
        if let Some(session) = self.sessions.get_mut(&id) {
            let ready = session.transport == Transport::Polling
                && session.held_get.is_some()
                && !session.polling_paused()
                && !session.queue.is_empty();
            if ready && !session.dirty {
                session.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    // Called at every input and output: the usual case, nothing dirty,
    // is checked inline.
    #[inline]
    pub(super) fn flush_dirty(&mut self) {
        if !self.dirty.is_empty() {
            self.flush_dirty_sessions();
        }
    }

    /// Answers the held GETs of the sessions marked dirty.
    pub(super) fn flush_dirty_sessions(&mut self) {
        let mut dirty = core::mem::take(&mut self.dirty);
        for id in dirty.drain(..) {
            if let Some(session) = self.sessions.get_mut(&id) {
                session.dirty = false;
            }
            self.flush_poll(id);
        }
        // Keep the allocation, and anything listed meanwhile.
        dirty.append(&mut self.dirty);
        self.dirty = dirty;
    }

    /// Answers the held GET of `id` with everything queued.
    pub(super) fn flush_poll(&mut self, id: u64) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        if session.transport != Transport::Polling
            || session.polling_paused()
            || session.queue.is_empty()
        {
            return;
        }
        let Some(get) = session.held_get.take() else {
            return;
        };
        let (body, compress) = session.take_poll_body();
        self.conns.remove(&get.conn);
        self.answer_poll(get.compressible(compress), body);
    }
}
