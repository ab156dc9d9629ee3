//! Auth as a function (socket.io-client's `auth: (cb) => ...`): called
//! before every CONNECT of its namespace, the first and each after a
//! reconnection, so a token can be refreshed; async, within a bound.
//!
//! Floor: below `client::config` (which holds one), the manager and the
//! socket.

use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use core::future::Future;
use serde::Serialize;

use crate::runtime::{BoxFuture, Runtime};
use sio_core::packet::{ArgsError, RawJson};

/// `auth` as JSON text.
pub fn auth_json<T: Serialize + ?Sized>(auth: &T) -> Result<RawJson, ArgsError> {
    let text = serde_json::to_string(auth).map_err(|e| ArgsError::Serialize(e.to_string()))?;
    RawJson::parse(ByteString::from(text)).map_err(|e| ArgsError::Serialize(format!("{e:?}")))
}

type AuthFuture = BoxFuture<Result<Option<RawJson>, String>>;

/// A function that gives a namespace's auth payload for one connection
/// attempt. Cloning shares it.
#[derive(Clone)]
pub struct AuthProvider(Arc<dyn Fn() -> AuthFuture + Send + Sync>);

impl std::fmt::Debug for AuthProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthProvider")
    }
}

impl AuthProvider {
    /// `f` gives the auth (anything that serializes to a JSON object), or
    /// an error that fails the attempt: the socket hears `connect_error`
    /// with its text as the message and is not reconnected.
    pub fn new<F, Fut, T, E>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        AuthProvider(Arc::new(move || {
            let future = f();
            Box::pin(async move {
                let auth = future.await.map_err(|e| e.to_string())?;
                auth_json(&auth).map(Some).map_err(|e| e.to_string())
            })
        }))
    }

    /// Calls the function, waiting at most `bound` for its answer.
    pub(super) async fn call(
        &self,
        runtime: &dyn Runtime,
        bound: Duration,
    ) -> Result<Option<RawJson>, String> {
        let answer = (self.0)();
        let deadline = runtime.now() + bound;
        let late = runtime.sleep_until(deadline);
        futures_lite::future::or(answer, async move {
            late.await;
            Err(format!("the auth function gave no answer within {bound:?}"))
        })
        .await
    }
}

/// What a socket sends with its CONNECT.
#[derive(Debug, Clone, Default)]
pub(super) enum SocketAuth {
    /// Nothing.
    #[default]
    None,
    /// The same payload on every attempt.
    Fixed(RawJson),
    /// What the function gives, per attempt.
    Provider(AuthProvider),
}

impl From<Option<RawJson>> for SocketAuth {
    fn from(auth: Option<RawJson>) -> Self {
        auth.map_or(SocketAuth::None, SocketAuth::Fixed)
    }
}
