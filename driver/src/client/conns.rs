//! The client's TCP connections, for any core client machine: one opened
//! (through the connector, with TLS when the URL asks) and pumped when the
//! core says `Connect`, and the core's transmits, lingers and closes handed
//! to their pumps. Shared by the Socket.IO manager and the Engine.IO
//! client, so both drive their connections with the same code.
//!
//! Floor: below `client::manager` and `client::engine`, on `client::pump`
//! and `client::tls`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::runtime::{BoxFuture, Connector, Runtime};
use crate::sync::lock;
use sio_core::client::{ClientEvent, ConnId, Output};

use super::pump::{pump, ConnCommand, PumpSink};
#[cfg(feature = "tls")]
use super::tls::Tls;

/// Where the client's connections go.
#[derive(Clone)]
pub(super) struct Dial {
    pub(super) host: String,
    pub(super) port: u16,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<Tls>,
}

type OpenFn<S> =
    dyn Fn(Weak<S>, ConnId, async_channel::Receiver<ConnCommand>) -> BoxFuture<()> + Send + Sync;

/// The open connections of one client, reporting to its owner `S`.
pub(super) struct Conns<S> {
    runtime: Arc<dyn Runtime>,
    /// Opens a connection and pumps it (the connector, type-erased).
    open: Box<OpenFn<S>>,
    /// Bytes to write, per connection; dropping the sender closes it
    /// after what is queued.
    writers: Mutex<HashMap<ConnId, async_channel::Sender<ConnCommand>>>,
}

impl<S: PumpSink> Conns<S> {
    pub(super) fn new<R: Runtime + Connector>(runtime: Arc<R>, dial: Dial) -> Self {
        let connector = runtime.clone();
        let open: Box<OpenFn<S>> = Box::new(move |owner, conn, writes| {
            let timer = connector.clone() as Arc<dyn Runtime>;
            let connector = connector.clone();
            let dial = dial.clone();
            Box::pin(async move {
                let stream = connector.connect(&dial.host, dial.port).await;
                #[cfg(feature = "tls")]
                if let Some(tls) = &dial.tls {
                    let stream = match stream {
                        Ok(stream) => tls.wrap(stream).await,
                        Err(error) => Err(error),
                    };
                    return pump(owner, conn, stream, writes, timer).await;
                }
                pump(owner, conn, stream, writes, timer).await;
            })
        });
        Conns {
            runtime: runtime as Arc<dyn Runtime>,
            open,
            writers: Mutex::new(HashMap::new()),
        }
    }

    /// Carries out an output about connections; an event (or an output
    /// this does not know) is handed back.
    pub(super) fn route(&self, owner: &Arc<S>, output: Output) -> Option<ClientEvent> {
        match output {
            Output::Connect { conn } => {
                // Unbounded: the core bounds what it produces.
                let (tx, rx) = async_channel::unbounded();
                lock(&self.writers).insert(conn, tx);
                self.runtime
                    .spawn((self.open)(Arc::downgrade(owner), conn, rx));
            }
            Output::Transmit { conn, data } => {
                if let Some(tx) = lock(&self.writers).get(&conn) {
                    let _ = tx.try_send(ConnCommand::Write(data));
                }
            }
            Output::Linger { conn, grace } => {
                if let Some(tx) = lock(&self.writers).remove(&conn) {
                    let _ = tx.try_send(ConnCommand::Linger(grace));
                }
            }
            Output::Close { conn } => self.forget(conn),
            Output::Event(event) => return Some(event),
            _ => {}
        }
        None
    }

    /// `conn` is closed: its writer goes.
    pub(super) fn forget(&self, conn: ConnId) {
        lock(&self.writers).remove(&conn);
    }
}

/// Seconds since 1970 on the runtime's wall clock (0 before it), for the
/// cookie jar's `Expires` dates.
pub(super) fn unix_secs(runtime: &dyn Runtime) -> u64 {
    runtime
        .wall_clock()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The seed of a core client (WebSocket keys, masks, reconnection jitter).
pub(super) fn random_seed(runtime: &dyn Runtime) -> [u8; 32] {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        // The seed only makes WebSocket keys and reconnection jitter, which
        // need not be secret (RFC 6455 section 10.3 asks nothing more).
        tracing::warn!("no OS random source; WebSocket keys are predictable");
        let t = runtime
            .wall_clock()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        seed[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
    }
    seed
}
