//! CORS headers the way the `cors` package (used by the reference server)
//! writes them, for polling responses and preflight answers.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::config::{AllowedOrigins, Cors};
use crate::wire::http::{Request, Response};

/// Header lines of a response.
pub(crate) type Headers = Vec<(Cow<'static, str>, String)>;

/// Appends the headers for an actual (non-preflight) request to `out`.
pub(crate) fn add_actual(cors: &Cors, req: &Request, out: &mut Headers) {
    let mut vary = Vary::default();
    add_origin(cors, req, out, &mut vary);
    add_credentials(cors, out);
    vary.write(out);
}

/// The `204` answer to a preflight `OPTIONS` request.
pub(crate) fn preflight(cors: &Cors, req: &Request) -> Response {
    let mut headers = Headers::new();
    let mut vary = Vary::default();
    add_origin(cors, req, &mut headers, &mut vary);
    add_credentials(cors, &mut headers);
    if !cors.methods.is_empty() {
        headers.push((
            "Access-Control-Allow-Methods".into(),
            cors.methods.join(","),
        ));
    }
    if !cors.allowed_headers.is_empty() {
        headers.push((
            "Access-Control-Allow-Headers".into(),
            cors.allowed_headers.join(","),
        ));
    } else if let Some(requested) = req.header("access-control-request-headers") {
        // Mirror what the browser asks for, as `cors` does by default.
        vary.request_headers = true;
        headers.push((
            "Access-Control-Allow-Headers".into(),
            String::from(requested),
        ));
    }
    if let Some(max_age) = cors.max_age {
        headers.push(("Access-Control-Max-Age".into(), max_age.to_string()));
    }
    vary.write(&mut headers);
    let mut response = Response::new(204);
    response.headers = headers;
    response
}

/// Which request headers the answer depends on.
#[derive(Default)]
struct Vary {
    origin: bool,
    request_headers: bool,
}

impl Vary {
    fn write(&self, out: &mut Headers) {
        let value = match (self.origin, self.request_headers) {
            (true, true) => "Origin, Access-Control-Request-Headers",
            (true, false) => "Origin",
            (false, true) => "Access-Control-Request-Headers",
            (false, false) => return,
        };
        out.push(("Vary".into(), String::from(value)));
    }
}

fn add_origin(cors: &Cors, req: &Request, out: &mut Headers, vary: &mut Vary) {
    let origin = req.header("origin");
    let allowed = match &cors.origins {
        AllowedOrigins::Any if !cors.credentials => {
            out.push(("Access-Control-Allow-Origin".into(), String::from("*")));
            return;
        }
        // `*` is not valid with credentials: reflect the origin instead.
        AllowedOrigins::Any => origin.is_some(),
        AllowedOrigins::List(list) => origin.is_some_and(|o| list.iter().any(|a| a == o)),
        AllowedOrigins::Predicate(check) => origin.is_some_and(|o| check(o)),
    };
    vary.origin = true;
    if let (true, Some(origin)) = (allowed, origin) {
        out.push(("Access-Control-Allow-Origin".into(), String::from(origin)));
    }
}

fn add_credentials(cors: &Cors, out: &mut Headers) {
    if cors.credentials {
        out.push((
            "Access-Control-Allow-Credentials".into(),
            String::from("true"),
        ));
    }
}
