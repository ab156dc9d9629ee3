//! Where the single-Redis link finds its server: a fixed URL, or the
//! master that Redis Sentinel names, asked again on every (re)connection
//! so that after a failover the adapter follows the new master.

use redis::sentinel::SentinelClient;
use sio_driver::BusError;

use crate::error::bus_error;

/// The server to connect to.
pub(crate) enum Source {
    Fixed(redis::Client),
    /// Sentinels and the master's name; one question at a time.
    Sentinel(async_lock::Mutex<SentinelClient>),
}

impl Source {
    /// The client of the server to connect to now.
    pub(crate) async fn client(&self) -> Result<redis::Client, BusError> {
        match self {
            Self::Fixed(client) => Ok(client.clone()),
            Self::Sentinel(sentinel) => sentinel
                .lock()
                .await
                .async_get_client()
                .await
                .map_err(|err| bus_error("asking Sentinel for the master", &err)),
        }
    }
}
