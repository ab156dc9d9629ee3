//! sio-conformance: one scenario suite run against every sio runtime with
//! the npm reference client (`socket.io-client` 4.x).
//!
//! A scenario is a server setup written against the runtime-agnostic API
//! ([`sio_driver::SocketIo`]) plus an optional [`Config`] tweak, and a
//! client script `clients/<name>.js` that checks what the server does.
//! `scenario-server <runtime> <scenario>` serves one scenario;
//! `conformance` runs every scenario against every runtime, then the
//! client direction ([`client_scenarios`]: the sio client against the Node
//! `socket.io` server) as `client-*` rows, and the hostile-client suite
//! ([`hostile`]) as `hostile-*` rows.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api_tests;
pub mod client_scenarios;
pub mod compression;
pub mod cookie_routing;
pub mod engine_io_api_tests;
pub mod hostile;
pub mod msgpack;
mod recovery_scenarios;
pub mod scenarios;
pub mod server_hooks;
pub mod soak;
pub mod socket_api;
pub mod testclient;

pub use sio_driver::{Config, SocketIo};

/// One server setup the reference client checks.
pub struct Scenario {
    /// Its name; the client script is `clients/<name>.js`.
    pub name: &'static str,
    /// What it checks, in a few words.
    pub what: &'static str,
    /// Changes to the default configuration.
    pub config: fn(&mut Config),
    /// Namespaces, middleware and handlers.
    pub setup: fn(&SocketIo),
}

/// The Engine.IO echo server (`scenario-server <runtime> engine-io-echo`),
/// checked by `clients/engine-io-echo.js` with the npm `engine.io-client`.
pub mod engine_io_echo {
    use sio_driver::engine_io::{Config, EngineIo};

    /// Its name on the command line and its script's.
    pub const NAME: &str = "engine-io-echo";

    /// engine.io-client's default path.
    pub fn config() -> Config {
        let mut config = Config::default();
        config.path = "/engine.io/".into();
        config
    }

    /// Every text and binary message comes back as sent.
    pub fn setup(server: &EngineIo) {
        server.on_connection(|socket| async move {
            socket.on_message(|socket, message| async move {
                let _ = socket.send(&message);
            });
        });
    }
}

/// The runtimes the suite runs on (`scenario-server`'s first argument).
pub const RUNTIMES: &[&str] = &["tokio", "smol", "async-std"];

/// Exits the process once its stdin closes: a server started by a runner
/// that crashed leaves nothing behind (the suite's server binaries).
pub fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(std::io::Read::read(&mut stdin, &mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}

/// The scenario called `name` (the hostile suite's and the soak's servers included).
pub fn scenario(name: &str) -> Option<&'static Scenario> {
    scenarios::ALL
        .iter()
        .chain([&hostile::SERVER, &soak::SERVER, &cookie_routing::SERVER])
        .find(|s| s.name == name)
}

/// The configuration of `scenario`: the default with its tweak applied.
pub fn config_of(scenario: &Scenario) -> Config {
    let mut config = Config::default();
    (scenario.config)(&mut config);
    config
}
