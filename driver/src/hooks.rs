//! The engine-level hooks of a server (Node's `allowRequest` option and
//! the engine's `initial_headers`, `headers` and `connection_error`
//! events): what they are given, what they answer, and where the
//! connection code (`conn`) finds them. Set on [`SocketIo`](crate::SocketIo)
//! or `engine_io::EngineIo` at any time.
//!
//! Floor: the bottom one; `endpoint` holds the hooks, `conn` runs them,
//! the layers report refused requests through them.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use core::future::Future;
use serde_json::{json, Map, Value};
use sio_core::engine::{ConnectionError as CoreError, RefusalContext};
use sio_core::wire::http::{Header, PackedHeaders, Request, Response};

use crate::runtime::{BoxFuture, Runtime};

/// The request a hook is asked about (Node's `req`): method, target,
/// headers and the client's address.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    method: String,
    url: String,
    headers: PackedHeaders,
    peer: Option<SocketAddr>,
}

impl RequestInfo {
    pub(crate) fn of(request: &Request, peer: Option<SocketAddr>) -> Self {
        RequestInfo {
            method: request.method.as_str().to_owned(),
            url: request.target.clone(),
            headers: PackedHeaders::new(&request.headers),
            peer,
        }
    }

    /// The method (`GET`, ...).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target: path and query.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.url.split_once('?').map_or(&self.url, |(path, _)| path)
    }

    /// Query parameter `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.url.split_once('?')?.1;
        sio_core::wire::http::query_param(query, name).map(|v| v.into_owned())
    }

    /// Header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Every header, names lower-cased, in order.
    pub fn headers(&self) -> Vec<Header> {
        self.headers.to_headers()
    }

    /// The client's address, when the transport knows it.
    pub fn address(&self) -> Option<SocketAddr> {
        self.peer
    }
}

/// An `allow_request` refusal (Node's `callback(message, false)`): the
/// client gets 403 `{"code":4,"message":...}` (a WebSocket handshake: 400
/// with the message, and the connection closed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forbidden {
    message: Option<String>,
}

impl Forbidden {
    /// A refusal with the reference's message, "Forbidden".
    pub fn new() -> Self {
        Forbidden::default()
    }

    /// A refusal whose response carries `message` instead.
    pub fn with_message(message: impl Into<String>) -> Self {
        Forbidden {
            message: Some(message.into()),
        }
    }

    /// The application's message, if it gave one.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

/// A header a hook may not add: its name is not an HTTP token, or its
/// value holds a control character (CR and LF would split the response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeader {
    name: String,
}

impl std::fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid response header {:?}", self.name)
    }
}

impl std::error::Error for InvalidHeader {}

/// Headers a hook adds to a response (Node's `headers` object).
#[derive(Debug, Default)]
pub struct ResponseHeaders {
    added: Vec<(String, String)>,
}

impl ResponseHeaders {
    /// Adds `name: value` (once per call: two `Set-Cookie` are two calls).
    /// Refuses a name that is not an HTTP token and a value with a control
    /// character other than tab: no hook can inject a header or a body.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), InvalidHeader> {
        let (name, value) = (name.into(), value.into());
        let token = !name.is_empty() && name.bytes().all(is_token_byte);
        let clean = value
            .bytes()
            .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
        if !token || !clean {
            return Err(InvalidHeader { name });
        }
        self.added.push((name, value));
        Ok(())
    }

    /// The headers added so far, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.added.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A refused request, as Node's `io.engine.on("connection_error", err)`
/// reports it: `err.code`, `err.message`, `err.context`, `err.req`.
#[derive(Debug, Clone)]
pub struct ConnectionError {
    /// 0 unknown transport, 1 unknown sid, 2 bad handshake method, 3 bad
    /// request, 4 forbidden, 5 unsupported protocol version.
    pub code: u8,
    /// The reference's message for `code` ("Transport unknown", "Session
    /// ID unknown", "Bad handshake method", "Bad request", "Forbidden",
    /// "Unsupported protocol version").
    pub message: &'static str,
    /// Node's `err.context`, as Node builds it (`{ "sid": ... }`,
    /// `{ "name": "TRANSPORT_MISMATCH", "transport": ..., "previousTransport": ... }`, ...).
    pub context: Value,
    /// The request.
    pub request: RequestInfo,
}

impl ConnectionError {
    fn of(error: &CoreError) -> Self {
        ConnectionError {
            code: error.code,
            message: error.message,
            context: context_json(&error.context),
            request: RequestInfo {
                method: error.method.as_str().to_owned(),
                url: error.url.clone(),
                headers: error.headers.clone(),
                peer: error.peer,
            },
        }
    }
}

/// Node's `err.context` for each refusal.
fn context_json(context: &RefusalContext) -> Value {
    match context {
        RefusalContext::UnknownTransport { transport } => {
            let mut map = Map::new();
            if let Some(transport) = transport {
                map.insert("transport".into(), transport.as_str().into());
            }
            Value::Object(map)
        }
        RefusalContext::InvalidOrigin { origin } => {
            json!({ "name": "INVALID_ORIGIN", "origin": origin })
        }
        RefusalContext::UnknownSid { sid } => json!({ "sid": sid }),
        RefusalContext::TransportMismatch {
            transport,
            previous_transport,
        } => json!({
            "name": "TRANSPORT_MISMATCH",
            "transport": transport,
            "previousTransport": previous_transport,
        }),
        RefusalContext::BadHandshakeMethod { method } => json!({ "method": method }),
        RefusalContext::TransportHandshakeError => json!({ "name": "TRANSPORT_HANDSHAKE_ERROR" }),
        RefusalContext::Forbidden { message } => json!({ "message": message }),
        RefusalContext::UnsupportedProtocol { protocol } => json!({ "protocol": protocol }),
        _ => Value::Object(Map::new()),
    }
}

type AllowRequest = Arc<dyn Fn(RequestInfo) -> BoxFuture<Result<(), Forbidden>> + Send + Sync>;
type HeadersHook = Arc<dyn Fn(&RequestInfo, &mut ResponseHeaders) + Send + Sync>;
type ErrorHook = Arc<dyn Fn(ConnectionError) + Send + Sync>;

/// The hooks of one endpoint.
#[derive(Default)]
pub(crate) struct Hooks {
    allow_request: RwLock<Option<AllowRequest>>,
    initial_headers: RwLock<Vec<HeadersHook>>,
    headers: RwLock<Vec<HeadersHook>>,
    connection_error: RwLock<Vec<ErrorHook>>,
}

/// Reads a hook slot, poisoned or not (a hook that panicked leaves it as it was).
fn read<T: Clone>(slot: &RwLock<T>) -> T {
    match slot.read() {
        Ok(value) => value.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn write<T>(slot: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    slot.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hooks {
    pub(crate) fn set_allow_request<F, Fut>(&self, check: F)
    where
        F: Fn(RequestInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Forbidden>> + Send + 'static,
    {
        *write(&self.allow_request) = Some(Arc::new(move |info| Box::pin(check(info))));
    }

    pub(crate) fn add_initial_headers(&self, hook: HeadersHook) {
        write(&self.initial_headers).push(hook);
    }

    pub(crate) fn add_headers(&self, hook: HeadersHook) {
        write(&self.headers).push(hook);
    }

    pub(crate) fn add_connection_error(&self, hook: ErrorHook) {
        write(&self.connection_error).push(hook);
    }

    /// The allow-request check, if one is set.
    pub(crate) fn allow_request(&self) -> Option<AllowRequest> {
        read(&self.allow_request)
    }

    /// The headers the hooks add to a successful answer to `request` (its
    /// 200 or 101): `initial_headers` ones for a handshake, then `headers`
    /// ones. Asked before the core takes the request; nothing is built
    /// when no hook is set.
    pub(crate) fn response_headers(
        &self,
        request: &Request,
        peer: Option<SocketAddr>,
    ) -> ExtraHeaders {
        let every = read(&self.headers);
        let initial = if request
            .query_param("sid")
            .is_some_and(|sid| !sid.is_empty())
        {
            Vec::new()
        } else {
            read(&self.initial_headers)
        };
        if every.is_empty() && initial.is_empty() {
            return ExtraHeaders(Vec::new());
        }
        let info = RequestInfo::of(request, peer);
        let mut headers = ResponseHeaders::default();
        for hook in initial.iter().chain(every.iter()) {
            hook(&info, &mut headers);
        }
        ExtraHeaders(headers.added)
    }

    /// Tells the `connection_error` hooks of a refused request, on a task
    /// of their own (called while routing, where no user code runs).
    pub(crate) fn report(&self, runtime: &Arc<dyn Runtime>, error: &CoreError) {
        let hooks = read(&self.connection_error);
        if hooks.is_empty() {
            return;
        }
        let error = ConnectionError::of(error);
        runtime.spawn(Box::pin(async move {
            for hook in hooks {
                hook(error.clone());
            }
        }));
    }
}

/// A server's engine hooks: `io.engine()` on [`SocketIo`](crate::SocketIo)
/// (Node's `allowRequest` option and `io.engine.on(...)`), `server.hooks()`
/// on `engine_io::EngineIo`. Each may be set at any
/// time; it applies to the requests that come after.
#[derive(Clone, Copy)]
pub struct EngineHooks<'a>(pub(crate) &'a Hooks);

impl std::fmt::Debug for EngineHooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHooks").finish_non_exhaustive()
    }
}

impl EngineHooks<'_> {
    /// Node's `allowRequest`: every handshake request (one that opens a
    /// session, polling or WebSocket, after the engine's own checks) waits
    /// for `check`'s verdict before the engine sees it; requests of open
    /// sessions are not asked about. `Err(Forbidden)` answers 403
    /// `{"code":4,"message":"Forbidden"}` (or the refusal's message) and
    /// reports a `connection_error` with code 4; a WebSocket handshake gets
    /// a 400 with the message and its connection is closed, as Node does.
    /// A verdict not given within `engine.body_timeout` (30 s) refuses the
    /// request; a client that goes away meanwhile drops it. Setting it
    /// again replaces it.
    pub fn allow_request<F, Fut>(self, check: F)
    where
        F: Fn(RequestInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Forbidden>> + Send + 'static,
    {
        self.0.set_allow_request(check);
    }

    /// Node's `initial_headers` event: `hook` adds headers to the answer
    /// that opens a session (the polling handshake's 200 or the WebSocket
    /// handshake's 101), before the [`on_headers`](Self::on_headers) ones.
    pub fn on_initial_headers<F>(self, hook: F)
    where
        F: Fn(&RequestInfo, &mut ResponseHeaders) + Send + Sync + 'static,
    {
        self.0.add_initial_headers(Arc::new(hook));
    }

    /// Node's `headers` event: `hook` adds headers to every answer of the
    /// transports (each polling 200, the handshake's included, and every
    /// WebSocket 101, an upgrade's included); refusals get none. The hooks
    /// run as the request arrives, after `allow_request` allowed it: one
    /// the engine then refuses (an unknown sid, say) ran them for nothing.
    pub fn on_headers<F>(self, hook: F)
    where
        F: Fn(&RequestInfo, &mut ResponseHeaders) + Send + Sync + 'static,
    {
        self.0.add_headers(Arc::new(hook));
    }

    /// Node's `connection_error` event: `hook` hears of every request the
    /// engine refused (an unknown transport or sid, a bad handshake, a
    /// forbidden one), with Node's code, message and context. It runs on
    /// a task of its own.
    pub fn on_connection_error<F>(self, hook: F)
    where
        F: Fn(ConnectionError) + Send + Sync + 'static,
    {
        self.0.add_connection_error(Arc::new(hook));
    }
}

/// Headers to add to a request's successful answer.
#[derive(Debug, Default)]
pub(crate) struct ExtraHeaders(Vec<(String, String)>);

impl ExtraHeaders {
    /// Adds them to `response` if it is the request's success (200, or
    /// 101 for a WebSocket), as Node adds them only to its transports'
    /// answers, never to a refusal.
    pub(crate) fn apply(self, response: &mut Response) {
        if matches!(response.status, 200 | 101) {
            response
                .headers
                .extend(self.0.into_iter().map(|(n, v)| (n.into(), v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_with_control_characters_or_bad_names_are_refused() {
        let mut headers = ResponseHeaders::default();
        assert!(headers.insert("Set-Cookie", "a=1; Path=/").is_ok());
        assert!(headers.insert("X-Tab", "a\tb").is_ok());
        for (name, value) in [
            ("X-A", "a\r\nSet-Cookie: evil=1"),
            ("X-A", "a\nb"),
            ("X-A", "a\0b"),
            ("X-A\r\nX-B", "1"),
            ("X A", "1"),
            ("X:A", "1"),
            ("", "1"),
        ] {
            assert!(headers.insert(name, value).is_err(), "{name:?}: {value:?}");
        }
        let added: Vec<_> = headers.iter().collect();
        assert_eq!(added, [("Set-Cookie", "a=1; Path=/"), ("X-Tab", "a\tb")]);
    }

    #[test]
    fn contexts_are_nodes() {
        let cases = [
            (
                RefusalContext::UnknownTransport { transport: None },
                json!({}),
            ),
            (
                RefusalContext::UnknownTransport {
                    transport: Some("flash".into()),
                },
                json!({ "transport": "flash" }),
            ),
            (
                RefusalContext::UnknownSid { sid: "x".into() },
                json!({ "sid": "x" }),
            ),
            (
                RefusalContext::TransportMismatch {
                    transport: "polling",
                    previous_transport: "websocket",
                },
                json!({ "name": "TRANSPORT_MISMATCH", "transport": "polling", "previousTransport": "websocket" }),
            ),
            (
                RefusalContext::Forbidden { message: None },
                json!({ "message": null }),
            ),
            (
                RefusalContext::UnsupportedProtocol { protocol: 3 },
                json!({ "protocol": 3 }),
            ),
        ];
        for (context, expected) in cases {
            assert_eq!(context_json(&context), expected, "{context:?}");
        }
    }
}
