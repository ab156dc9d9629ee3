//! Routing a request to its session, and refusing it with the reference's
//! codes; the responses' headers.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use bytes::Bytes;

use super::types::{
    ConnectionError, EngineError, EngineEvent, Io, Output, RefusalContext, SessionId,
};
use super::{ConnId, EngineServer, Transport};
use crate::engine::config::Cookie;
use crate::engine::cors::{self, Headers};
use crate::wire::http::{Method, PackedHeaders, Request, Response};
use crate::wire::ws::handshake as ws_handshake;

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

/// A refused request: the refusal and what Node's `connection_error`
/// reports with it.
pub(super) type Refused = (Refusal, RefusalContext);

/// Routing and refusals.
impl EngineServer {
    /// The reference's checks, in its order: transport, origin header, then
    /// the sid, or for a handshake the method and protocol version. Gives
    /// the transport asked for and the session, if the request names one;
    /// a refusal comes with the context Node reports for it.
    pub(super) fn verify(
        &self,
        req: &Request,
        upgrade: bool,
    ) -> Result<(Transport, Option<u64>), Refused> {
        let transport = match req.query_param("transport").as_deref() {
            Some("polling") if self.config.polling => Transport::Polling,
            Some("websocket") if self.config.websocket => Transport::WebSocket,
            other => {
                let transport = other.map(ToString::to_string);
                return Err((
                    Refusal::UnknownTransport,
                    RefusalContext::UnknownTransport { transport },
                ));
            }
        };
        if let Some(origin) = req.header("origin").filter(|o| has_invalid_header_char(o)) {
            let origin = origin.to_string();
            return Err((
                Refusal::BadRequest,
                RefusalContext::InvalidOrigin { origin },
            ));
        }
        let sid = req.query_param("sid").filter(|sid| !sid.is_empty());
        if let Some(sid) = sid {
            let unknown = || {
                let sid = sid.to_string();
                (Refusal::UnknownSid, RefusalContext::UnknownSid { sid })
            };
            let sessions = &self.sessions;
            let sid_of = |id| sessions.get(&id).map(|s| &*s.info.sid);
            let id = self.by_sid.get(&sid, sid_of).ok_or_else(unknown)?;
            let session = self.sessions.get(&id).ok_or_else(unknown)?;
            if !upgrade && session.transport != transport {
                let context = RefusalContext::TransportMismatch {
                    transport: transport.as_str(),
                    previous_transport: session.transport.as_str(),
                };
                return Err((Refusal::BadRequest, context));
            }
            return Ok((transport, Some(id)));
        }
        if req.method != Method::Get {
            let method = req.method.as_str().to_string();
            return Err((
                Refusal::BadHandshakeMethod,
                RefusalContext::BadHandshakeMethod { method },
            ));
        }
        if transport == Transport::WebSocket && !upgrade {
            return Err((Refusal::BadRequest, RefusalContext::TransportHandshakeError));
        }
        if req.query_param("EIO").as_deref() != Some("4") {
            // Node reads anything but "4" as protocol 3.
            return Err((
                Refusal::UnsupportedProtocol,
                RefusalContext::UnsupportedProtocol { protocol: 3 },
            ));
        }
        Ok((transport, None))
    }

    /// Whether `req` is a handshake the reference would put to the
    /// application's allow-request check: it passes every check the
    /// engine makes of a request (transport, origin, method, protocol)
    /// and names no session.
    pub fn is_checked_handshake(&self, req: &Request) -> bool {
        if req.method == Method::Options && self.config.cors.is_some() {
            return false;
        }
        let upgrade = self.config.websocket && ws_handshake::is_upgrade_request(req);
        match self.verify(req, upgrade) {
            Ok((Transport::Polling, None)) => !upgrade,
            Ok((Transport::WebSocket, None)) => true,
            _ => false,
        }
    }

    /// Refuses `req` and reports it ([`EngineEvent::ConnectionError`]), as
    /// the reference's `connection_error`.
    pub(super) fn refuse_reported(
        &mut self,
        conn: ConnId,
        req: &Request,
        upgrade: bool,
        (refusal, context): Refused,
    ) {
        let custom = match &context {
            RefusalContext::Forbidden { message } => message.as_deref(),
            _ => None,
        };
        self.refuse_with(conn, req, upgrade, refusal, custom);
        self.push_event(EngineEvent::ConnectionError(Box::new(ConnectionError {
            code: refusal as u8,
            message: refusal.message(),
            context,
            method: req.method.clone(),
            url: req.target.clone(),
            headers: PackedHeaders::new(&req.headers),
            peer: self.request_peer,
        })));
    }

    /// Answers a refused request the reference's way: a JSON body for HTTP
    /// requests, a plain 400 and a closed connection for upgrade requests.
    pub(super) fn refuse(&mut self, conn: ConnId, req: &Request, upgrade: bool, refusal: Refusal) {
        self.refuse_with(conn, req, upgrade, refusal, None);
    }

    /// [`EngineServer::refuse`], with `custom` (the application's message
    /// for a forbidden handshake) instead of the reference's message.
    fn refuse_with(
        &mut self,
        conn: ConnId,
        req: &Request,
        upgrade: bool,
        refusal: Refusal,
        custom: Option<&str>,
    ) {
        if upgrade {
            let message = custom.unwrap_or(refusal.message());
            let response = Response::new(400)
                .with_header("Connection", "close")
                .with_body("text/html", Bytes::copy_from_slice(message.as_bytes()));
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
        let body = match custom {
            None => Bytes::from_static(refusal.json().as_bytes()),
            Some(message) => {
                // serde_json escapes the application's text as JSON.
                let message = serde_json::to_string(message).unwrap_or_default();
                Bytes::from(format!(
                    r#"{{"code":{},"message":{message}}}"#,
                    refusal as u8
                ))
            }
        };
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
        self.push_io(Io::Respond {
            conn,
            response: Box::new(response),
        });
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
