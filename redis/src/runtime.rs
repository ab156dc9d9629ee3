//! The runtime the adapter's background task and timers run on.
//!
//! Found once, when the adapter connects, the way the redis crate finds its
//! own: inside a tokio runtime it is tokio; otherwise async-std when called
//! from an async-std task, else smol. So a build with every runtime feature
//! (as `cargo build --workspace` unifies them) still picks the caller's.

use std::future::Future;
use std::time::Duration;

use futures_lite::FutureExt;

#[cfg(not(any(feature = "tokio", feature = "smol", feature = "async-std")))]
compile_error!("sio-redis needs a runtime feature: tokio, smol or async-std");

/// A runtime the adapter can spawn on and sleep with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    #[cfg(feature = "tokio")]
    Tokio,
    #[cfg(feature = "smol")]
    Smol,
    #[cfg(feature = "async-std")]
    AsyncStd,
}

impl Runtime {
    /// The caller's runtime, or `None` when only tokio is built in and the
    /// caller is outside a tokio runtime (tokio would panic on spawn).
    pub(crate) fn detect() -> Option<Self> {
        #[cfg(feature = "tokio")]
        if tokio::runtime::Handle::try_current().is_ok() {
            return Some(Self::Tokio);
        }
        #[cfg(feature = "async-std")]
        if async_std::task::try_current().is_some() {
            return Some(Self::AsyncStd);
        }
        // smol has no "current runtime": its global executor serves any thread.
        #[cfg(feature = "smol")]
        return Some(Self::Smol);
        #[cfg(all(feature = "async-std", not(feature = "smol")))]
        return Some(Self::AsyncStd);
        #[allow(unreachable_code)]
        None
    }

    /// Runs `future` in the background, detached.
    pub(crate) fn spawn(self, future: impl Future<Output = ()> + Send + 'static) {
        match self {
            #[cfg(feature = "tokio")]
            Self::Tokio => {
                tokio::spawn(future);
            }
            #[cfg(feature = "smol")]
            Self::Smol => smol::spawn(future).detach(),
            #[cfg(feature = "async-std")]
            Self::AsyncStd => {
                async_std::task::spawn(future);
            }
        }
    }

    /// Completes after `duration`.
    pub(crate) async fn sleep(self, duration: Duration) {
        match self {
            #[cfg(feature = "tokio")]
            Self::Tokio => tokio::time::sleep(duration).await,
            #[cfg(feature = "smol")]
            Self::Smol => {
                smol::Timer::after(duration).await;
            }
            #[cfg(feature = "async-std")]
            Self::AsyncStd => async_std::task::sleep(duration).await,
        }
    }

    /// `future`'s output, or `None` if `duration` passes first.
    pub(crate) async fn timeout<T>(
        self,
        duration: Duration,
        future: impl Future<Output = T>,
    ) -> Option<T> {
        async { Some(future.await) }
            .or(async {
                self.sleep(duration).await;
                None
            })
            .await
    }
}
