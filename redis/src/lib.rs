//! sio-redis: the Redis adapter that joins sio servers into one cluster,
//! with Node socket.io servers that use `@socket.io/redis-adapter` on the
//! same Redis; and [`RedisStreamsAdapter`], the same on a Redis stream as
//! `@socket.io/redis-streams-adapter` uses it.
//!
//! [`RedisAdapter`] implements the driver's [`Bus`](sio_driver::Bus):
//! it only moves bytes between Redis publish/subscribe and the driver, which
//! speaks the reference adapter's protocol. Written once for every runtime:
//! enable the feature of yours (`tokio`, the default; `smol`; `async-std`).
//!
//! | feature | redis crate feature | the adapter's own task and timers |
//! |---|---|---|
//! | `tokio` | `tokio-comp` | `tokio::spawn`, `tokio::time` |
//! | `smol` | `smol-comp` | `smol::spawn`, `smol::Timer` |
//! | `async-std` | `smol-comp` | `async_std::task` |
//!
//! The redis crate has served tokio and smol only since 1.0 (0.32 was the
//! last with `async-std-comp`); async-std runs on async-io as smol does, so
//! redis's smol support serves it, its connection tasks then running on
//! smol's global executor beside async-std's. With several features on (a
//! workspace build unifies them), the runtime is found when connecting:
//! tokio inside a tokio runtime (as the redis crate decides for itself),
//! else async-std inside an async-std task, else smol.
//!
//! Deployments: a single Redis ([`RedisAdapter::builder`]), a Redis
//! Cluster ([`RedisAdapter::cluster`]: the redis crate's cluster client,
//! same channels and messages as Node's adapter on a cluster client; or
//! [`RedisAdapter::sharded`]: sharded pub/sub, as Node's
//! `createShardedAdapter`), the
//! master Redis Sentinel names ([`RedisAdapter::sentinel`], asked again on
//! every reconnection), each over TLS with `rediss://` (feature `tls`,
//! rustls on ring; `tls_ca` for a private CA). [`RedisStreamsAdapter`]
//! has the same three (`builder`, `cluster`, `sentinel`).
//!
//! ```no_run
//! # async fn example() -> Result<(), sio_redis::ConnectError> {
//! let adapter = sio_redis::RedisAdapter::builder("redis://127.0.0.1:6379")
//!     .key("socket.io")
//!     .connect()
//!     .await?;
//! # drop(adapter);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod adapter;
mod backend;
mod cluster_link;
mod error;
mod link;
mod publisher;
mod reply;
mod runtime;
mod source;
mod stream_link;
mod stream_tasks;
mod streams;
#[cfg(feature = "tls")]
mod tls;

pub use adapter::{
    RedisAdapter, RedisAdapterBuilder, DEFAULT_BACKOFF_FIRST, DEFAULT_BACKOFF_MAX,
    DEFAULT_COMMAND_TIMEOUT,
};
pub use error::ConnectError;
/// The sharded adapter's subscription mode ([`RedisAdapterBuilder::subscription_mode`]).
pub use sio_core::adapter::SubscriptionMode;
pub use streams::{
    RedisStreamsAdapter, RedisStreamsAdapterBuilder, DEFAULT_BLOCK_TIME, DEFAULT_MAX_LEN,
    DEFAULT_READ_COUNT, DEFAULT_STREAM_NAME,
};
