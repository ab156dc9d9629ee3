//! Why the adapter could not start.

use sio_driver::BusError;

/// Why [`RedisAdapter::connect`](crate::RedisAdapter::connect) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL (`redis://host:port/db`, `rediss://`, `unix://`).
    InvalidUrl(String),
    /// Redis did not accept the connections or the first commands.
    Unreachable(String),
    /// Called outside any runtime this build supports (only the `tokio`
    /// feature is on and there is no current tokio runtime).
    NoRuntime,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidUrl(why) => write!(f, "invalid Redis URL: {why}"),
            Self::Unreachable(why) => write!(f, "cannot reach Redis: {why}"),
            Self::NoRuntime => f.write_str(
                "sio-redis: no runtime to run on (call connect inside a tokio runtime, \
                 or enable the smol or async-std feature)",
            ),
        }
    }
}

impl std::error::Error for ConnectError {}

impl ConnectError {
    pub(crate) fn unreachable(err: BusError) -> Self {
        Self::Unreachable(err.0)
    }
}

impl From<ConnectError> for BusError {
    fn from(err: ConnectError) -> Self {
        BusError(err.to_string())
    }
}

/// A redis error as the driver sees it.
pub(crate) fn bus_error(context: &str, err: &redis::RedisError) -> BusError {
    BusError(format!("{context}: {err}"))
}

/// `future`'s result as the driver sees it, or a timeout error naming
/// `peer` after `limit`: one command of a link, bounded.
pub(crate) async fn bounded<T>(
    rt: crate::runtime::Runtime,
    limit: std::time::Duration,
    what: &str,
    peer: &str,
    future: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, BusError> {
    match rt.timeout(limit, future).await {
        Some(Ok(value)) => Ok(value),
        Some(Err(err)) => Err(bus_error(what, &err)),
        None => Err(BusError(format!(
            "{what}: no answer from {peer} in {limit:?}"
        ))),
    }
}
