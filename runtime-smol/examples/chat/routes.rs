//! The chat's HTTP routes on a standalone server, which has no HTTP
//! framework: the server's fallback (`SocketIo::set_fallback`) hands the
//! few paths next to the Socket.IO endpoint to `web.rs`. Shared by the smol
//! and async-std examples; the tokio example uses axum routes instead.

use sio_core::wire::http::{Method, Request, Response};

use crate::web::Site;

/// The server's fallback: `GET /`, `GET /token?user=NAME`,
/// `GET /socket.io.min.js`, `GET /socket.io.msgpack.min.js` (and `HEAD` of each), with CORS for
/// `cors_origin`; 404 elsewhere.
pub fn fallback(
    site: Site,
    cors_origin: String,
) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
    move |request| with_cors(route(&site, request), request, &cors_origin)
}

/// The answer of the route `request` is for, before CORS.
fn route(site: &Site, request: &Request) -> Response {
    let page: fn(&Site, &Request) -> Response = match request.path() {
        "/" => |site, _| site.index(),
        "/token" => |site, request| site.token(request.query_param("user").as_deref()),
        "/socket.io.min.js" => |site, _| site.client_bundle("socket.io.min.js"),
        "/socket.io.msgpack.min.js" => |site, _| site.client_bundle("socket.io.msgpack.min.js"),
        _ => return text(404, "Not Found"),
    };
    match request.method {
        Method::Get => page(site, request),
        Method::Head => without_body(page(site, request)),
        // A CORS preflight; the headers come from `with_cors`.
        Method::Options => Response::new(204).with_header("Access-Control-Allow-Methods", "GET"),
        _ => text(405, "Method Not Allowed").with_header("Allow", "GET, HEAD"),
    }
}

fn text(status: u16, body: &'static str) -> Response {
    Response::new(status).with_body("text/plain; charset=utf-8", body)
}

/// `HEAD`: the headers of `GET`, its length included, and no body.
fn without_body(mut response: Response) -> Response {
    let length = response.body.len();
    response.body = Default::default();
    response.with_header("Content-Length", length.to_string())
}

/// Lets pages of `cors_origin` read the answer (the Socket.IO endpoint
/// answers its own CORS).
fn with_cors(response: Response, request: &Request, cors_origin: &str) -> Response {
    let response = response.with_header("Vary", "Origin");
    if request.header("origin") == Some(cors_origin) {
        response.with_header("Access-Control-Allow-Origin", cors_origin)
    } else {
        response
    }
}
