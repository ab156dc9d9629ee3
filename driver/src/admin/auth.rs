//! The admin namespace's basic auth, as the reference checks it: a known
//! session id from an earlier login, or the user name and a password that
//! matches the bcrypt hash. bcrypt costs tens of milliseconds on purpose,
//! so it runs on a thread of its own (never on the runtime's), at most
//! [`VERIFY_SLOTS`] at a time; logins beyond wait their turn.

use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_channel::{Receiver, Sender};

use super::{AdminAuth, AdminError};
use crate::handshake::Handshake;
use crate::sync::lock;

/// bcrypt verifications running at once.
const VERIFY_SLOTS: usize = 2;
/// Session ids kept; the oldest goes first (the reference keeps them all).
const MAX_SESSIONS: usize = 1024;

/// The configured user name and hash, and the verification slots.
pub(super) struct Credentials {
    username: String,
    hash: Arc<str>,
    slots: (Sender<()>, Receiver<()>),
}

impl Credentials {
    /// `None` for [`AdminAuth::None`]; an error for a hash bcrypt cannot read.
    pub(super) fn new(auth: &AdminAuth) -> Result<Option<Credentials>, AdminError> {
        match auth {
            AdminAuth::None => {
                tracing::warn!("Admin UI authentication is disabled; use with caution");
                Ok(None)
            }
            AdminAuth::Basic {
                username,
                password_hash,
            } => {
                bcrypt::HashParts::from_str(password_hash)
                    .map_err(|_| AdminError::InvalidPasswordHash)?;
                Ok(Some(Credentials {
                    username: username.clone(),
                    hash: Arc::from(password_hash.as_str()),
                    slots: async_channel::bounded(VERIFY_SLOTS),
                }))
            }
        }
    }

    /// Whether `password` matches, checked on a thread of its own.
    async fn verify(&self, password: String) -> bool {
        // A slot is taken by sending into the bounded channel, freed by
        // taking one back out.
        if self.slots.0.send(()).await.is_err() {
            return false;
        }
        let (tx, rx) = async_channel::bounded(1);
        let hash = self.hash.clone();
        let spawned = std::thread::Builder::new()
            .name("sio-admin-bcrypt".into())
            .spawn(move || {
                let _ = tx.try_send(bcrypt::verify(password, &hash).unwrap_or(false));
            });
        let matched = match spawned {
            Ok(_) => rx.recv().await.unwrap_or(false),
            Err(error) => {
                tracing::warn!(%error, "cannot start the bcrypt thread; login refused");
                false
            }
        };
        let _ = self.slots.1.try_recv();
        matched
    }
}

/// Session ids handed out at login (the reference's `InMemoryStore`).
#[derive(Default)]
pub(super) struct Sessions {
    ids: Mutex<VecDeque<String>>,
}

impl Sessions {
    /// A new session id (16 hex digits, as the reference's), remembered.
    pub(super) fn open(&self) -> String {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // No randomness, no session: the UI logs in with credentials again.
            return String::new();
        }
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut ids = lock(&self.ids);
        if ids.len() >= MAX_SESSIONS {
            ids.pop_front();
        }
        ids.push_back(id.clone());
        id
    }

    fn contains(&self, id: &str) -> bool {
        !id.is_empty() && lock(&self.ids).iter().any(|known| known == id)
    }
}

/// What the UI sends in `auth`.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AdminLogin {
    session_id: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn login_of(handshake: &Handshake) -> AdminLogin {
    handshake.auth::<AdminLogin>().unwrap_or_default()
}

/// Marks a socket that logged in with its credentials (it gets a session).
#[derive(Clone, Copy)]
pub(super) struct NewLogin;

/// Whether the handshake may open the admin namespace.
pub(super) async fn admit(
    credentials: &Credentials,
    sessions: &Sessions,
    handshake: &Handshake,
) -> Result<Option<NewLogin>, ()> {
    let login = login_of(handshake);
    if login.session_id.is_some_and(|id| sessions.contains(&id)) {
        return Ok(None);
    }
    match (login.username, login.password) {
        (Some(user), Some(password)) if user == credentials.username => {
            if credentials.verify(password).await {
                Ok(Some(NewLogin))
            } else {
                Err(())
            }
        }
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_hex_and_bounded() {
        let sessions = Sessions::default();
        let first = sessions.open();
        assert_eq!(first.len(), 16);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(sessions.contains(&first));
        assert!(!sessions.contains(""));
        for _ in 0..MAX_SESSIONS {
            sessions.open();
        }
        assert!(!sessions.contains(&first), "the oldest went first");
        assert_eq!(lock(&sessions.ids).len(), MAX_SESSIONS);
    }

    #[test]
    fn passwords_are_checked_against_the_hash() {
        // bcrypt of "sio-admin-test", cost 4 (bcryptjs wrote it).
        let auth = AdminAuth::Basic {
            username: "admin".into(),
            password_hash: "$2a$04$p3rlGIw.ZfcxYoyrGqXcFeXvTRe2/SzPGyan2f7htPCc4mANH0iBa".into(),
        };
        let credentials = Credentials::new(&auth).unwrap().unwrap();
        let check = |password: &str| {
            futures_lite::future::block_on(credentials.verify(password.to_owned()))
        };
        assert!(check("sio-admin-test"));
        assert!(!check("sio-admin-tesT"));
        assert!(!check(&"x".repeat(100_000)));
        assert!(matches!(Credentials::new(&AdminAuth::None), Ok(None)));
    }
}
