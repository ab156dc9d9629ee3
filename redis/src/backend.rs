//! The adapter's link, to a single Redis or to a Redis Cluster: the one
//! place that tells them apart.

use std::sync::Arc;

use sio_driver::{BusError, BusSink};

use crate::cluster_link::ClusterLink;
use crate::link::{Link, Options};
use crate::runtime::Runtime;

/// A single Redis (two connections) or a cluster (one cluster connection).
#[derive(Clone)]
pub(crate) enum Backend {
    Single(Arc<Link>),
    Cluster(Arc<ClusterLink>),
}

impl Backend {
    pub(crate) fn options(&self) -> &Options {
        match self {
            Self::Single(link) => &link.options,
            Self::Cluster(link) => &link.options,
        }
    }

    pub(crate) fn rt(&self) -> Runtime {
        match self {
            Self::Single(link) => link.rt,
            Self::Cluster(link) => link.rt,
        }
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    pub(crate) fn start(&self, sink: BusSink) {
        match self {
            Self::Single(link) => link.start(sink),
            Self::Cluster(link) => link.start(sink),
        }
    }

    pub(crate) async fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> Result<(), BusError> {
        match self {
            Self::Single(link) => link.subscribe(channels, patterns).await,
            Self::Cluster(link) => link.subscribe(channels, patterns).await,
        }
    }

    /// Unsubscribes from `channels` (a cluster link only: the single
    /// link never needs it, as only the sharded adapter unsubscribes).
    pub(crate) async fn unsubscribe(&self, channels: Vec<String>) -> Result<(), BusError> {
        match self {
            Self::Single(_) => Err(BusError(
                "unsubscribe: only the sharded adapter (on a cluster) unsubscribes".into(),
            )),
            Self::Cluster(link) => link.unsubscribe(channels).await,
        }
    }

    pub(crate) async fn command(
        &self,
        what: &str,
        command: redis::Cmd,
    ) -> Result<redis::Value, BusError> {
        match self {
            Self::Single(link) => link.command(what, command).await,
            Self::Cluster(link) => link.command(what, command).await,
        }
    }

    /// Sends `pipeline`; on a cluster, to the master of `key`'s slot.
    pub(crate) async fn pipeline(
        &self,
        what: &str,
        key: &str,
        pipeline: redis::Pipeline,
    ) -> Result<Vec<redis::Value>, BusError> {
        match self {
            Self::Single(link) => link.pipeline(what, &pipeline).await,
            Self::Cluster(link) => link.pipeline_to(what, key, pipeline).await,
        }
    }
}
