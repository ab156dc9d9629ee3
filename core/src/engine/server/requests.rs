//! Routing a request to its session, and refusing it with the reference's
//! codes; the responses' headers.

use alloc::format;
use alloc::string::String;
use bytes::Bytes;

use super::types::{EngineError, EngineEvent, Io, Output, SessionId};
use super::{ConnId, EngineServer, Transport};
use crate::engine::config::Cookie;
use crate::engine::cors::{self, Headers};
use crate::wire::http::{Method, Request, Response};

/// `Content-Type` of polling payloads.
pub(super) const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

/// A refused request, with the reference's code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocol = 5,
}

impl Refusal {
    pub(super) fn message(self) -> &'static str {
        match self {
            Refusal::UnknownTransport => "Transport unknown",
            Refusal::UnknownSid => "Session ID unknown",
            Refusal::BadHandshakeMethod => "Bad handshake method",
            Refusal::BadRequest => "Bad request",
            Refusal::Forbidden => "Forbidden",
            Refusal::UnsupportedProtocol => "Unsupported protocol version",
        }
    }

    /// The JSON body of a refused polling request.
    pub(super) fn json(self) -> &'static str {
        match self {
            Refusal::UnknownTransport => r#"{"code":0,"message":"Transport unknown"}"#,
            Refusal::UnknownSid => r#"{"code":1,"message":"Session ID unknown"}"#,
            Refusal::BadHandshakeMethod => r#"{"code":2,"message":"Bad handshake method"}"#,
            Refusal::BadRequest => r#"{"code":3,"message":"Bad request"}"#,
            Refusal::Forbidden => r#"{"code":4,"message":"Forbidden"}"#,
            Refusal::UnsupportedProtocol => {
                r#"{"code":5,"message":"Unsupported protocol version"}"#
            }
        }
    }
}

/// Routing and refusals.
impl EngineServer {
    /// The reference's checks, in its order: transport, origin header, then
    /// the sid, or for a handshake the method and protocol version. Gives
    /// the transport asked for and the session, if the request names one.
    pub(super) fn verify(
        &self,
        req: &Request,
        upgrade: bool,
    ) -> Result<(Transport, Option<u64>), Refusal> {
        let transport = match req.query_param("transport").as_deref() {
            Some("polling") if self.config.polling => Transport::Polling,
            Some("websocket") if self.config.websocket => Transport::WebSocket,
            _ => return Err(Refusal::UnknownTransport),
        };
        if req.header("origin").is_some_and(has_invalid_header_char) {
            return Err(Refusal::BadRequest);
        }
        let sid = req.query_param("sid").filter(|sid| !sid.is_empty());
        if let Some(sid) = sid {
            let id = *self.by_sid.get(sid.as_ref()).ok_or(Refusal::UnknownSid)?;
            let session = self.sessions.get(&id).ok_or(Refusal::UnknownSid)?;
            if !upgrade && session.transport != transport {
                return Err(Refusal::BadRequest);
            }
            return Ok((transport, Some(id)));
        }
        if req.method != Method::Get {
            return Err(Refusal::BadHandshakeMethod);
        }
        if transport == Transport::WebSocket && !upgrade {
            return Err(Refusal::BadRequest);
        }
        if req.query_param("EIO").as_deref() != Some("4") {
            return Err(Refusal::UnsupportedProtocol);
        }
        Ok((transport, None))
    }

    /// Answers a refused request the reference's way: a JSON body for HTTP
    /// requests, a plain 400 and a closed connection for upgrade requests.
    pub(super) fn refuse(&mut self, conn: ConnId, req: &Request, upgrade: bool, refusal: Refusal) {
        if upgrade {
            let response = Response::new(400)
                .with_header("Connection", "close")
                .with_body("text/html", refusal.message().as_bytes());
            self.respond(conn, response);
            self.push_io(Io::Close { conn });
            return;
        }
        let status = if refusal == Refusal::Forbidden {
            403
        } else {
            400
        };
        let mut headers = Headers::new();
        if let Some(cors) = &self.config.cors {
            cors::add_actual(cors, req, &mut headers);
        }
        let body = Bytes::from_static(refusal.json().as_bytes());
        let response = build_response(status, Some("application/json"), body, headers);
        self.respond(conn, response);
    }

    /// An upgrade request whose WebSocket headers are wrong: the plain 400
    /// the reference's `ws` writes, then the connection is closed.
    pub(super) fn refuse_bad_websocket(&mut self, conn: ConnId) {
        let response = Response::new(400)
            .with_header("Connection", "close")
            .with_body("text/html", &b"Bad Request"[..]);
        self.respond(conn, response);
        self.push_io(Io::Close { conn });
    }

    /// Headers of every polling answer to `req`.
    pub(super) fn polling_headers(&self, req: &Request) -> Headers {
        let mut headers = Headers::new();
        // The reference keeps old Internet Explorer from flagging the
        // payload as cross-site scripting.
        if req
            .header("user-agent")
            .is_some_and(|ua| ua.contains(";MSIE") || ua.contains("Trident/"))
        {
            headers.push(("X-XSS-Protection".into(), String::from("0")));
        }
        headers.push(("cache-control".into(), String::from("no-store")));
        if let Some(cors) = &self.config.cors {
            cors::add_actual(cors, req, &mut headers);
        }
        headers
    }

    pub(super) fn respond(&mut self, conn: ConnId, response: Response) {
        self.push_io(Io::Respond { conn, response });
    }

    pub(super) fn push_io(&mut self, io: Io) {
        if let Io::Close { conn } = io {
            self.remember_closing(conn);
        }
        self.outputs.push_back(Output::Io(io));
    }

    /// `conn` must be gone by the close timeout, whether its peer reads
    /// what is queued or not.
    pub(super) fn remember_closing(&mut self, conn: ConnId) {
        let at = self.now + self.config.close_timeout;
        self.closing_at.insert(conn, at);
        self.closing.push_back((at, conn));
        // Entries of connections reported gone stay until their deadline:
        // bound them.
        if self.closing.len() > 2 * self.closing_at.len() + 64 {
            let live = &self.closing_at;
            self.closing.retain(|(at, conn)| live.get(conn) == Some(at));
        }
    }

    pub(super) fn push_event(&mut self, event: EngineEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    /// The session behind a handle the caller holds, if still open.
    pub(super) fn open_session(&self, session: SessionId) -> Result<u64, EngineError> {
        match self.sessions.get(&session.0) {
            Some(s) if !s.lingering => Ok(session.0),
            _ => Err(EngineError::UnknownSession),
        }
    }
}

pub(super) fn build_response(
    status: u16,
    content_type: Option<&'static str>,
    body: Bytes,
    headers: Headers,
) -> Response {
    let mut response = match content_type {
        Some(content_type) => Response::new(status).with_body(content_type, body),
        None => Response::new(status),
    };
    response.headers.extend(headers);
    response
}

/// The `Set-Cookie` value, attributes in the order the `cookie` package writes them.
pub(super) fn cookie_line(cookie: &Cookie, sid: &str) -> String {
    let mut line = format!("{}={}", cookie.name, sid);
    if !cookie.path.is_empty() {
        line.push_str("; Path=");
        line.push_str(&cookie.path);
    }
    if cookie.http_only {
        line.push_str("; HttpOnly");
    }
    if !cookie.same_site.is_empty() {
        line.push_str("; SameSite=");
        line.push_str(&cookie.same_site);
    }
    line
}

/// Whether a header value holds a byte the reference refuses (controls
/// other than tab, and DEL).
pub(super) fn has_invalid_header_char(value: &str) -> bool {
    value
        .bytes()
        .any(|b| !(b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80))
}
