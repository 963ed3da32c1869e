//! Who is calling, and what they may do.
//!
//! Callers are the admin (`Authorization: Bearer <ADMIN_TOKEN>`), a client (`Basic
//! login:secret`, or `Bearer <token>` from `POST /v1/tokens`), or, only when
//! `ALLOW_ANONYMOUS = "true"`, anonymous. Client records come from the login's own
//! `Client` object through a per-isolate cache of at most [`CACHE_TTL_MS`], so no request
//! waits on a global object and a deleted or rotated client stops working everywhere
//! within 60 s. Comparisons of secrets and tokens are constant-time.

use crate::proto::auth::{self, Claims};
use crate::proto::{ApiError, ErrorCode};
use crate::worker::registry::clients::ClientRecord;
use base64::Engine as _;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use worker::Env;

/// How long a client lookup is trusted by an isolate.
pub const CACHE_TTL_MS: u64 = 30_000;

/// The access rules of this deployment.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// `ALLOW_ANONYMOUS = "true"`.
    pub anonymous: bool,
    admin_token: Option<String>,
    token_key: Option<Vec<u8>>,
    /// How long client lookups are trusted.
    pub cache_ttl_ms: u64,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Holder of `ADMIN_TOKEN`: every operation on every topic.
    Admin,
    /// Nobody in particular (anonymous access is on): every topic operation.
    Anonymous,
    /// A client, with its permissions.
    Client(ClientRecord),
}

impl Identity {
    /// The `source` of events the bus makes for this caller.
    pub fn source(&self) -> String {
        match self {
            Identity::Admin => "/admin".into(),
            Identity::Anonymous => "/anonymous".into(),
            Identity::Client(c) => format!("/clients/{}", c.login),
        }
    }

    /// The client's login, if this is a client.
    pub fn login(&self) -> Option<&str> {
        match self {
            Identity::Client(c) => Some(&c.login),
            _ => None,
        }
    }

    /// Whether it may publish to `topic`.
    pub fn may_publish(&self, topic: &str) -> bool {
        match self {
            Identity::Client(c) => auth::allowed(&c.publish, topic),
            _ => true,
        }
    }

    /// Whether it may subscribe to `topic` (and manage its channels).
    pub fn may_subscribe(&self, topic: &str) -> bool {
        match self {
            Identity::Client(c) => auth::allowed(&c.subscribe, topic),
            _ => true,
        }
    }
}

/// `forbidden` for an operation on a topic.
pub fn forbidden(what: &str, topic: &str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, format!("no permission to {what} topic {topic}"))
}

fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "missing or wrong credentials")
}

/// Most logins an isolate keeps looked up (the oldest lookup is dropped first), so a
/// flood of distinct logins cannot grow the cache.
pub const CACHE_ENTRIES: usize = 4_096;

/// Recent client lookups, bounded.
#[derive(Default)]
struct Lookups {
    map: HashMap<String, (Option<ClientRecord>, u64)>,
    order: VecDeque<String>,
}

impl Lookups {
    fn get(&self, login: &str, now: u64, ttl_ms: u64) -> Option<(Option<ClientRecord>, u64)> {
        self.map.get(login).filter(|(_, at)| now.saturating_sub(*at) < ttl_ms).cloned()
    }

    fn put(&mut self, login: &str, record: Option<ClientRecord>, now: u64) {
        if self.map.insert(login.to_owned(), (record, now)).is_none() {
            self.order.push_back(login.to_owned());
        }
        while self.order.len() > CACHE_ENTRIES {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Lookups> = RefCell::new(Lookups::default());
}

/// The client record of `login`, from this isolate's cache or its `Client` object.
pub async fn lookup(env: &Env, login: &str, now: u64, ttl_ms: u64) -> worker::Result<Option<ClientRecord>> {
    let cached = CACHE.with(|c| c.borrow().get(login, now, ttl_ms));
    if let Some((record, _)) = cached {
        return Ok(record);
    }
    let stub = env.durable_object("CLIENTS")?.get_by_name(login)?;
    let mut res = stub.fetch_with_str("https://client/").await?;
    let record = if res.status_code() == 200 { Some(res.json::<ClientRecord>().await?) } else { None };
    remember(login, record.clone(), now);
    Ok(record)
}

/// Puts a lookup result in this isolate's cache.
pub fn remember(login: &str, record: Option<ClientRecord>, now: u64) {
    CACHE.with(|c| c.borrow_mut().put(login, record, now));
}

impl Access {
    /// Reads `ALLOW_ANONYMOUS`, the `ADMIN_TOKEN` secret and `TOKEN_KEY` (when absent,
    /// tokens are signed with the key kept in the Registry, see `signing_key`), once per
    /// isolate: vars and secrets are fixed for an isolate's life (a changed secret starts
    /// new isolates), and reading them costs two binding lookups per name, on every
    /// request and on every frame of a client's socket.
    pub fn from_env(env: &Env) -> Access {
        thread_local! {
            static ACCESS: std::cell::OnceCell<Access> = const { std::cell::OnceCell::new() };
        }
        ACCESS.with(|a| a.get_or_init(|| Access::read(env)).clone())
    }

    fn read(env: &Env) -> Access {
        let text = |name: &str| {
            env.secret(name)
                .map(|v| v.to_string())
                .or_else(|_| env.var(name).map(|v| v.to_string()))
                .ok()
                .filter(|t| !t.is_empty())
        };
        let anonymous = text("ALLOW_ANONYMOUS").as_deref() == Some("true");
        let admin_token = text("ADMIN_TOKEN");
        let token_key = text("TOKEN_KEY").map(String::into_bytes);
        let cache_ttl_ms =
            text("AUTH_CACHE_TTL_MS").and_then(|v| v.parse().ok()).unwrap_or(CACHE_TTL_MS).min(CACHE_TTL_MS);
        Access { anonymous, admin_token, token_key, cache_ttl_ms }
    }

    /// Whether `token` is the admin token (constant-time).
    pub fn is_admin_token(&self, token: &str) -> bool {
        self.admin_token.as_deref().is_some_and(|admin| auth::constant_time_eq(admin, token))
    }

    /// Identifies the caller of an HTTP request from its `Authorization` header.
    pub async fn identify(
        &self,
        env: &Env,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<Identity, ApiError> {
        let Some(h) = authorization.map(str::trim) else {
            return if self.anonymous { Ok(Identity::Anonymous) } else { Err(unauthorized()) };
        };
        match auth::parse_authorization(h) {
            Some(auth::Credentials::Bearer(token)) => self.bearer(env, &token, now).await,
            Some(auth::Credentials::Basic { login, secret }) => self.basic(env, &login, &secret, now).await,
            None => Err(unauthorized()),
        }
    }

    /// Identifies a `hello`: login and secret, or a token (a client's, or the admin's).
    pub async fn identify_hello(
        &self,
        env: &Env,
        login: Option<&str>,
        secret: Option<&str>,
        token: Option<&str>,
        now: u64,
    ) -> Result<Identity, ApiError> {
        match (login, secret, token) {
            (_, _, Some(t)) => self.bearer(env, t, now).await,
            (Some(l), Some(s), None) => self.basic(env, l, s, now).await,
            (None, None, None) if self.anonymous => Ok(Identity::Anonymous),
            _ => Err(unauthorized()),
        }
    }

    async fn bearer(&self, env: &Env, token: &str, now: u64) -> Result<Identity, ApiError> {
        if self.is_admin_token(token) {
            return Ok(Identity::Admin);
        }
        let key = self.signing_key(env).await?;
        let claims = auth::verify_token(token, &key, now / 1000).map_err(|e| {
            let message = match e {
                // Not the shape of a client token at all: most likely a mistyped admin token.
                auth::TokenError::Malformed => {
                    "wrong admin token (the bearer token is neither the admin token nor a client token)"
                        .to_owned()
                }
                e => e.to_string(),
            };
            ApiError::new(ErrorCode::Unauthorized, message)
        })?;
        match lookup(env, &claims.sub, now, self.cache_ttl_ms).await.map_err(internal)? {
            Some(c) if c.gen == claims.gen => Ok(Identity::Client(c)),
            _ => Err(ApiError::new(ErrorCode::Unauthorized, "token revoked")),
        }
    }

    async fn basic(&self, env: &Env, login: &str, secret: &str, now: u64) -> Result<Identity, ApiError> {
        if crate::proto::TopicName::parse(login).is_err() {
            return Err(unauthorized());
        }
        match lookup(env, login, now, self.cache_ttl_ms).await.map_err(internal)? {
            Some(c) if auth::secret_matches(secret, &c.secret_hash) => Ok(Identity::Client(c)),
            _ => Err(unauthorized()),
        }
    }

    /// Requires the admin.
    pub fn require_admin(&self, who: &Identity) -> Result<(), ApiError> {
        match who {
            Identity::Admin => Ok(()),
            _ if self.admin_token.is_none() => Err(ApiError::new(
                ErrorCode::Unauthorized,
                "admin endpoints need ADMIN_TOKEN to be configured",
            )),
            // A known client without the right: 403, as for a topic it may not use.
            Identity::Client(c) => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("client {} may not use this endpoint: it needs the admin token", c.login),
            )),
            _ => Err(ApiError::new(ErrorCode::Unauthorized, "this endpoint needs the admin token")),
        }
    }

    /// The key tokens are signed with: `TOKEN_KEY` when configured, else a random
    /// 256-bit key the bus generated once and keeps in its `Registry` object (never
    /// derived from `ADMIN_TOKEN`, so a token tells nothing about the admin token).
    /// Read once per isolate.
    pub async fn signing_key(&self, env: &Env) -> Result<Vec<u8>, ApiError> {
        if let Some(k) = &self.token_key {
            return Ok(k.clone());
        }
        if let Some(k) = STORED_KEY.with(|k| k.borrow().clone()) {
            return Ok(k);
        }
        let key = stored_token_key(env).await.map_err(internal)?;
        STORED_KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
        Ok(key)
    }

    /// Signs a token for a client, valid `ttl_s` seconds from `now`.
    pub async fn issue_token(
        &self,
        env: &Env,
        client: &ClientRecord,
        now: u64,
        ttl_s: u64,
    ) -> Result<(String, u64), ApiError> {
        let key = self.signing_key(env).await?;
        let iat = now / 1000;
        let claims = Claims { sub: client.login.clone(), exp: iat + ttl_s, iat, gen: client.gen };
        Ok((auth::sign_token(&claims, &key), (iat + ttl_s) * 1000))
    }
}

thread_local! {
    static STORED_KEY: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// The generated token key, from the `Registry` object named `keys` (made there once).
async fn stored_token_key(env: &Env) -> worker::Result<Vec<u8>> {
    #[derive(serde::Deserialize)]
    struct Key {
        key: String,
    }
    let stub = env.durable_object("REGISTRY")?.get_by_name("keys")?;
    let mut res = stub.fetch_with_str("https://internal/keys/token").await?;
    if res.status_code() != 200 {
        return Err(worker::Error::RustError(format!("the key registry answered {}", res.status_code())));
    }
    let k: Key = res.json().await?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(k.key.as_bytes())
        .map_err(|e| worker::Error::RustError(format!("stored token key: {e}")))
}

/// A lookup that failed: the detail goes to the log, the caller gets a generic answer.
fn internal(e: worker::Error) -> ApiError {
    crate::worker::log::error("auth.lookup_failed", serde_json::json!({ "error": e.to_string() }));
    ApiError::new(ErrorCode::Internal, "internal error")
}
