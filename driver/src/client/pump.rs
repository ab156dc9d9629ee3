//! One task per TCP connection of the client: bytes in to the core, bytes
//! out from its commands, and the manager's timer loop.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::runtime::Runtime;
use sio_core::client::ConnId;

/// Bytes read from the connection at once.
const READ_CHUNK: usize = 16 * 1024;

/// What the core asks of one connection's pump.
pub(super) enum ConnCommand {
    /// Write these bytes.
    Write(Bytes),
    /// Stop reporting to the core; close once the server answers (any
    /// byte, or its close) or after the grace period (`Output::Linger`).
    Linger(Duration),
}

/// Where a pump reports what happens on its connection: the manager, which
/// feeds it to the core (a trait, so that the pump does not reach up).
pub(super) trait PumpSink: Send + Sync + 'static {
    /// The connection is open.
    fn connected(self: &Arc<Self>, conn: ConnId);
    /// Bytes read from it.
    fn data(self: &Arc<Self>, conn: ConnId, data: &[u8]);
    /// It closed, or (with `error`) it could not be opened.
    fn closed(self: &Arc<Self>, conn: ConnId, error: Option<String>);
}

/// How a pump's reading and writing ended.
enum PumpEnd {
    /// Closed (by the core, a write error, or the manager gone).
    Closed,
    /// Asked to linger for at most this long.
    Linger(Duration),
}

/// Moves the bytes of one connection: reads go to the core, the core's
/// transmits go out; ends when either side is done, and tells the core.
pub(super) async fn pump<M: PumpSink, S: crate::runtime::ClientStream>(
    manager: Weak<M>,
    conn: ConnId,
    stream: std::io::Result<S>,
    writes: async_channel::Receiver<ConnCommand>,
    timer: Arc<dyn Runtime>,
) {
    let stream = match stream {
        Ok(stream) => stream,
        Err(error) => {
            tracing::debug!(%error, "client connection failed");
            if let Some(m) = manager.upgrade() {
                m.closed(conn, Some(error.to_string()));
            }
            return;
        }
    };
    let Some(m) = manager.upgrade() else { return };
    m.connected(conn);
    drop(m);
    let (mut reader, mut writer) = futures_lite::io::split(stream);
    let mut buf = vec![0u8; READ_CHUNK];
    let read_side = async {
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return PumpEnd::Closed,
                Ok(n) => n,
            };
            let Some(m) = manager.upgrade() else {
                return PumpEnd::Closed;
            };
            m.data(conn, buf.get(..n).unwrap_or_default());
        }
    };
    let write_side = async {
        while let Ok(command) = writes.recv().await {
            match command {
                ConnCommand::Write(data) => {
                    if writer.write_all(&data).await.is_err() || writer.flush().await.is_err() {
                        return PumpEnd::Closed;
                    }
                }
                ConnCommand::Linger(grace) => return PumpEnd::Linger(grace),
            }
        }
        // The core closed it: what it queued is written.
        let _ = writer.close().await;
        PumpEnd::Closed
    };
    match futures_lite::future::or(read_side, write_side).await {
        PumpEnd::Closed => {
            if let Some(m) = manager.upgrade() {
                m.closed(conn, None);
            }
        }
        PumpEnd::Linger(grace) => {
            // The core has forgotten this connection: nothing is reported.
            let answered = async {
                let _ = reader.read(&mut buf).await;
            };
            let deadline = std::time::Instant::now() + grace;
            futures_lite::future::or(answered, timer.sleep_until(deadline)).await;
        }
    }
}
