//! Where the streams adapter's connections go: one Redis (a fixed URL, or
//! the master Redis Sentinel names, asked again on every connection so that
//! after a failover the adapter follows the new master), or a Redis
//! Cluster. The stream is one key, so on a cluster it lives on one master
//! and every command the adapter sends goes there (the redis crate routes
//! `XADD`, `XREAD`, `XRANGE` by key; a session key to its own slot's master).
//!
//! Every connection is opened on its own (a cluster connection holds its
//! own connections to the nodes): the reader's `XREAD BLOCK` holds its
//! connection for up to the block time, which must never delay the appends.

use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, Value};
use sio_driver::BusError;

use crate::error::bus_error;
use crate::runtime::Runtime;
use crate::source::Source;

/// The Redis the streams adapter uses.
pub(crate) enum StreamTarget {
    /// One server, fixed or named by Sentinel.
    Single(Source),
    /// A Redis Cluster.
    Cluster(ClusterClient),
}

/// One of the streams adapter's connections.
#[derive(Clone)]
pub(crate) enum StreamConn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for StreamConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            StreamConn::Single(connection) => connection.req_packed_command(cmd),
            StreamConn::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            StreamConn::Single(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            StreamConn::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            StreamConn::Single(connection) => connection.get_db(),
            StreamConn::Cluster(connection) => connection.get_db(),
        }
    }
}

impl StreamTarget {
    /// Opens one connection whose replies may take `extra` longer than
    /// `command_timeout` (the reader's `XREAD` blocks); connecting itself
    /// (asking Sentinel included) takes at most `command_timeout`.
    pub(crate) async fn open(
        &self,
        command_timeout: Duration,
        rt: Runtime,
        extra: Duration,
    ) -> Result<StreamConn, BusError> {
        let opened = rt
            .timeout(command_timeout, async {
                match self {
                    StreamTarget::Single(source) => {
                        let client = source.client().await?;
                        let config = AsyncConnectionConfig::new()
                            .set_connection_timeout(Some(command_timeout))
                            .set_response_timeout(Some(command_timeout + extra));
                        client
                            .get_multiplexed_async_connection_with_config(&config)
                            .await
                            .map(StreamConn::Single)
                            .map_err(|err| bus_error("connecting", &err))
                    }
                    StreamTarget::Cluster(client) => {
                        let config = ClusterConfig::new()
                            .set_connection_timeout(command_timeout)
                            .set_response_timeout(command_timeout + extra);
                        client
                            .get_async_connection_with_config(config)
                            .await
                            .map(StreamConn::Cluster)
                            .map_err(|err| bus_error("connecting to the cluster", &err))
                    }
                }
            })
            .await;
        opened.unwrap_or_else(|| {
            Err(BusError(format!(
                "connecting: no answer from Redis in {command_timeout:?}"
            )))
        })
    }
}
