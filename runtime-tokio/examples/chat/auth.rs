//! JWT (HS256) tokens: issuing test tokens for `GET /token` and checking
//! them in the connect middleware of `/`. Shared by the chat examples of
//! every runtime crate, so it uses sio-core's runtime-agnostic API only.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sio_driver::{ConnectContext, ConnectError};

/// How long an issued token is valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// Longest user name `GET /token` accepts (in characters).
const MAX_NAME_CHARS: usize = 32;
/// Used when `JWT_SECRET` is not set; fine for trying the example only.
const DEVELOPMENT_SECRET: &str = "sio-chat-development-secret";

/// The authenticated user of a socket, stored in its extensions by the
/// middleware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Derived from the name: lower-case letters, digits and dashes.
    pub id: String,
    /// The name as the user typed it (trimmed).
    pub name: String,
}

/// The token's payload, as the Node guide signs it: `userId`, and here
/// also the display name and an expiry. Tokens signed elsewhere with the
/// same secret need `userId` only: `name` defaults to it, and `exp` is
/// checked when present (as `jsonwebtoken.verify` does in Node).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
}

/// The signing and checking keys of one secret.
#[derive(Clone)]
pub struct Keys {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
}

impl Keys {
    /// Keys from `JWT_SECRET`, or from the development secret with a warning.
    pub fn from_env() -> Keys {
        let secret = match std::env::var("JWT_SECRET") {
            Ok(secret) if !secret.is_empty() => secret,
            _ => {
                tracing::warn!(
                    "JWT_SECRET is not set: using the development secret {DEVELOPMENT_SECRET:?}; \
                     anyone can forge tokens, set JWT_SECRET outside development"
                );
                DEVELOPMENT_SECRET.to_owned()
            }
        };
        Keys::new(secret.as_bytes())
    }

    /// Keys for `secret`.
    pub fn new(secret: &[u8]) -> Keys {
        Keys {
            encoding: Arc::new(EncodingKey::from_secret(secret)),
            decoding: Arc::new(DecodingKey::from_secret(secret)),
        }
    }

    /// A token for the user called `name`, valid for an hour.
    pub fn issue(&self, name: &str) -> Result<String, TokenRequestError> {
        let user = user_from_name(name)?;
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(TOKEN_LIFETIME)
            .as_secs();
        let claims = Claims {
            user_id: user.id,
            name: Some(user.name),
            exp: Some(exp),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenRequestError::Signing(e.to_string()))
    }

    /// The user a token stands for, or `None` when it does not verify
    /// (bad signature, not HS256, expired, malformed, no `userId`).
    pub fn verify(&self, token: &str) -> Option<User> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Node's `jwt.verify`: `exp` checked when present, no clock leeway.
        validation.set_required_spec_claims::<&str>(&[]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok()?;
        let Claims { user_id, name, .. } = data.claims;
        if user_id.is_empty() {
            return None;
        }
        let name = name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| user_id.clone());
        Some(User { id: user_id, name })
    }
}

/// Why `GET /token` cannot issue a token.
#[derive(Debug)]
pub enum TokenRequestError {
    /// The name is missing, empty, too long or has no letter or digit.
    BadName(&'static str),
    /// Signing failed (does not happen with HS256 and a byte secret).
    Signing(String),
}

/// The user called `name`: the id is the name in lower case with every run
/// of other characters than letters and digits made one dash.
fn user_from_name(name: &str) -> Result<User, TokenRequestError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TokenRequestError::BadName("missing user name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(TokenRequestError::BadName(
            "user name longer than 32 characters",
        ));
    }
    let mut id = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            id.extend(c.to_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_end_matches('-').to_owned();
    if id.is_empty() {
        return Err(TokenRequestError::BadName(
            "user name needs a letter or a digit",
        ));
    }
    Ok(User {
        id,
        name: name.to_owned(),
    })
}

/// What the client may send as `auth` (`io(url, { auth: { token } })`).
#[derive(Deserialize)]
struct AuthPayload {
    token: Option<String>,
}

/// The token of a connect request: `auth.token`, else the `token` query
/// parameter of the handshake.
fn token_of(context: &ConnectContext) -> Option<String> {
    let handshake = context.handshake();
    let from_auth = handshake
        .auth::<AuthPayload>()
        .and_then(|auth| auth.token)
        .filter(|t| !t.is_empty());
    from_auth.or_else(|| handshake.query("token").filter(|t| !t.is_empty()))
}

/// Why a connection is refused, word for word as the Node guide says it.
pub const NO_TOKEN: &str = "Authentication error: No token";
pub const INVALID_TOKEN: &str = "Authentication error: Invalid token";

/// The connect middleware: admits a socket with a valid token and stores
/// its [`User`] in the socket's extensions (this process's own typed
/// per-socket values; `events.rs` also puts `{userId}` in `socket.data`,
/// what `fetch_sockets` reports).
pub async fn authenticate(keys: Keys, context: ConnectContext) -> Result<(), ConnectError> {
    let token = token_of(&context).ok_or_else(|| ConnectError::new(NO_TOKEN))?;
    let user = keys
        .verify(&token)
        .ok_or_else(|| ConnectError::new(INVALID_TOKEN))?;
    tracing::debug!(user = %user.id, "authenticated");
    context.extensions().insert(user);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_to_its_user() {
        let keys = Keys::new(b"test");
        let token = keys.issue("  Ada Lovelace ").unwrap();
        let user = keys.verify(&token).unwrap();
        assert_eq!(user.id, "ada-lovelace");
        assert_eq!(user.name, "Ada Lovelace");
    }

    #[test]
    fn token_of_another_secret_is_invalid() {
        let token = Keys::new(b"one").issue("ada").unwrap();
        assert_eq!(Keys::new(b"two").verify(&token), None);
        assert_eq!(Keys::new(b"one").verify("garbage"), None);
    }

    fn sign(keys: &Keys, claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &keys.encoding).unwrap()
    }

    #[test]
    fn node_style_tokens_need_user_id_only() {
        let keys = Keys::new(b"test");
        let user = keys.verify(&sign(&keys, &serde_json::json!({ "userId": "u1" })));
        assert_eq!(
            user,
            Some(User {
                id: "u1".into(),
                name: "u1".into()
            })
        );
        assert_eq!(
            keys.verify(&sign(&keys, &serde_json::json!({ "sub": "u1" }))),
            None
        );
        let past = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 10;
        let expired = serde_json::json!({ "userId": "u1", "exp": past });
        assert_eq!(keys.verify(&sign(&keys, &expired)), None);
    }

    #[test]
    fn names_without_letters_are_refused() {
        assert!(matches!(
            user_from_name(""),
            Err(TokenRequestError::BadName(_))
        ));
        assert!(matches!(
            user_from_name("!!"),
            Err(TokenRequestError::BadName(_))
        ));
        assert!(matches!(
            user_from_name(&"x".repeat(33)),
            Err(TokenRequestError::BadName(_))
        ));
        assert_eq!(user_from_name("Zoë & Bob!").unwrap().id, "zoë-bob");
    }
}
