//! Credentials on the wire: client secrets (stored only as hashes), signed bearer tokens
//! (JWT, HS256), and topic permission patterns. Pure: randomness and time come in as
//! arguments, so all of it is tested natively.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of randomness in a generated secret (256 bits).
pub const SECRET_BYTES: usize = 32;
/// Default token lifetime.
pub const DEFAULT_TOKEN_TTL_S: u64 = 3_600;
/// Longest token lifetime.
pub const MAX_TOKEN_TTL_S: u64 = 86_400;

/// A secret as shown once to the admin: URL-safe base64 of 32 random bytes.
pub fn encode_secret(random: &[u8; SECRET_BYTES]) -> String {
    B64.encode(random)
}

/// The stored form of a secret: hex SHA-256. Secrets carry 256 bits of entropy, so a fast
/// hash is enough (there is nothing to brute-force); the secret itself is never stored.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `secret` matches a stored hash, in constant time.
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    bool::from(hash_secret(secret).as_bytes().ct_eq(stored_hash.as_bytes()))
}

/// Whether two strings are equal, in constant time (for the admin token).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The client's login.
    pub sub: String,
    /// Expiry, seconds since the epoch (JWT `exp`).
    pub exp: u64,
    /// Issue time, seconds since the epoch.
    pub iat: u64,
    /// The client's credential generation when issued: rotating or deleting the client
    /// changes it, which revokes every token issued before.
    pub gen: u64,
}

/// Why a token was refused (all are `unauthorized` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match.
    #[error("token signature is wrong")]
    BadSignature,
    /// Past its `exp`.
    #[error("token expired")]
    Expired,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; this cannot fail.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

/// Signs claims into a compact JWT (HS256).
pub fn sign_token(claims: &Claims, key: &[u8]) -> String {
    let payload = serde_json::to_string(claims).unwrap_or_default();
    let signing_input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
    let mut m = mac(key);
    m.update(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(m.finalize().into_bytes()))
}

/// Verifies a token's signature (constant time) and expiry at `now_s`.
pub fn verify_token(token: &str, key: &[u8], now_s: u64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
    let mut m = mac(key);
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    m.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
    let header = B64.decode(h).map_err(|_| TokenError::Malformed)?;
    if header != HEADER.as_bytes() {
        return Err(TokenError::Malformed);
    }
    let payload = B64.decode(p).map_err(|_| TokenError::Malformed)?;
    let claims: Claims = crate::proto::from_json_bytes(&payload).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now_s {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Whether a topic permission pattern is well formed: name characters and `*`.
pub fn valid_pattern(p: &str) -> bool {
    (1..=256).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'[' | b']' | b'*'))
}

/// Whether `topic` matches `pattern`, where `*` matches any run of characters (also empty)
/// and every other character matches itself.
pub fn pattern_matches(pattern: &str, topic: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), topic.as_bytes());
    // Greedy glob with backtracking to the last star: linear in practice, no recursion.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Whether any of `patterns` allows `topic`.
pub fn allowed(patterns: &[String], topic: &str) -> bool {
    patterns.iter().any(|p| pattern_matches(p, topic))
}

/// Credentials as an `Authorization` header carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic base64(login:secret)`.
    Basic {
        /// The login.
        login: String,
        /// The secret.
        secret: String,
    },
    /// `Bearer <token>` (a client token, or the admin token).
    Bearer(String),
}

/// Reads an `Authorization` header (scheme names in any case). Anything else than
/// well-formed Basic or Bearer credentials is `None`: the caller answers 401.
pub fn parse_authorization(header: &str) -> Option<Credentials> {
    let h = header.trim();
    let (scheme, value) = h.split_once(' ').unwrap_or((h, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(Credentials::Bearer(value.trim().to_owned()))
            .filter(|c| !matches!(c, Credentials::Bearer(t) if t.is_empty())),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (login, secret) = text.split_once(':')?;
            Some(Credentials::Basic { login: login.to_owned(), secret: secret.to_owned() })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_authorization_headers() {
        assert_eq!(parse_authorization("Bearer abc"), Some(Credentials::Bearer("abc".into())));
        assert_eq!(parse_authorization("bearer  abc "), Some(Credentials::Bearer("abc".into())));
        let b = base64::engine::general_purpose::STANDARD.encode("bob:s:e");
        assert_eq!(
            parse_authorization(&format!("Basic {b}")),
            Some(Credentials::Basic { login: "bob".into(), secret: "s:e".into() })
        );
        for bad in ["", "Bearer", "Bearer ", "Basic !!", "Basic Ym9i", "Digest x", "Basic"] {
            assert_eq!(parse_authorization(bad), None, "{bad}");
        }
    }

    #[test]
    fn secrets_hash_and_compare() {
        let s = encode_secret(&[7u8; 32]);
        assert_eq!(s.len(), 43);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let h = hash_secret(&s);
        assert_eq!(h.len(), 64);
        assert!(secret_matches(&s, &h));
        assert!(!secret_matches("other", &h));
        assert!(!h.contains(&s));
    }

    #[test]
    fn tokens_sign_verify_expire_and_refuse_tampering() {
        let c = Claims { sub: "foo".into(), exp: 1_000, iat: 10, gen: 2 };
        let t = sign_token(&c, b"key");
        assert_eq!(verify_token(&t, b"key", 999).unwrap(), c);
        assert_eq!(verify_token(&t, b"key", 1_000).unwrap_err(), TokenError::Expired);
        assert_eq!(verify_token(&t, b"other", 999).unwrap_err(), TokenError::BadSignature);
        let forged = Claims { sub: "admin".into(), ..c.clone() };
        let parts: Vec<&str> = t.split('.').collect();
        let swapped =
            format!("{}.{}.{}", parts[0], B64.encode(serde_json::to_string(&forged).unwrap()), parts[2]);
        assert_eq!(verify_token(&swapped, b"key", 999).unwrap_err(), TokenError::BadSignature);
        for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!", &format!("{t}x")] {
            assert!(verify_token(junk, b"key", 0).is_err(), "{junk}");
        }
    }

    #[test]
    fn patterns() {
        for (p, t, ok) in [
            ("*", "anything", true),
            ("orders.*", "orders.created", true),
            ("orders.*", "orders.", true),
            ("orders.*", "order", false),
            ("[DEV]*", "[DEV]OnPing", true),
            ("[DEV]*", "OnPing", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("*.log", "a.b.log", true),
            ("**", "", true),
        ] {
            assert_eq!(pattern_matches(p, t), ok, "{p} ~ {t}");
        }
        assert!(valid_pattern("orders.*"));
        assert!(!valid_pattern("a b"));
        assert!(!valid_pattern(""));
        assert!(allowed(&["x".into(), "o*".into()], "orders"));
        assert!(!allowed(&[], "orders"));
    }
}
