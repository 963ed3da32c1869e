//! The settings of the client's sessions, as the TypeScript driver passes them (JSON,
//! snake_case; every field has a default). Read as flat members (`proto/flat.rs`), not a
//! serde derive: typed visitors would bring serde's type-error messages (and float
//! formatting) into the client's wasm.

use crate::proto::flat::{Member, Members};

/// Sets each listed field that the object has, checking its JSON type.
macro_rules! read {
    ($o:ident => $cfg:ident { $($field:ident: $kind:ident),* $(,)? }) => {
        $(if let Some(v) = $o.get(stringify!($field)).filter(|v| **v != Member::Null) {
            $cfg.$field = $kind(v, stringify!($field))?;
        })*
    };
}

fn object(text: &str) -> Result<Members, String> {
    Members::parse(text).map_err(|e| format!("settings are a JSON object: {e}"))
}

fn int<T: TryFrom<u64>>(v: &Member, key: &str) -> Result<T, String> {
    v.int().and_then(|n| T::try_from(n).ok()).ok_or_else(|| format!("{key} must be a non-negative integer"))
}

fn flag(v: &Member, key: &str) -> Result<bool, String> {
    v.flag().ok_or_else(|| format!("{key} must be true or false"))
}

fn text(v: &Member, key: &str) -> Result<Option<String>, String> {
    v.text().map(|s| Some(s.to_owned())).ok_or_else(|| format!("{key} must be a string"))
}

/// A subscriber's settings, as the driver passes them (JSON, snake_case).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Client login (with `secret`).
    pub login: Option<String>,
    /// Client secret.
    pub secret: Option<String>,
    /// Bearer token instead of login and secret (see [`Session::set_token`]).
    pub token: Option<String>,
    /// The token comes from a provider: a first 4001 is retried with a fresh one.
    pub refresh: bool,
    /// Free-form client id, shown in server logs.
    pub client_id: Option<String>,
    /// Credit (`rdy`) while healthy.
    pub max_in_flight: u32,
    /// In-flight deadline of each delivery.
    pub handler_timeout_ms: u64,
    /// Failures after which the server dead-letters a message (0 = unlimited).
    pub max_attempts: u32,
    /// Keep-alive interval: a `ping` is sent this often.
    pub heartbeat_ms: u64,
    /// First handler backoff after a throw.
    pub backoff_ms: u64,
    /// Reconnect backoff floor.
    pub reconnect_min_ms: u64,
    /// Reconnect backoff cap.
    pub reconnect_max_ms: u64,
    /// Most frames kept while disconnected.
    pub queue_cap: usize,
    /// Ask for batched deliveries (`msgs`) and coalesce acknowledgements when the server
    /// offers them. Default true; a v1 server ignores it.
    pub batch: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            login: None,
            secret: None,
            token: None,
            refresh: false,
            client_id: None,
            max_in_flight: 1,
            handler_timeout_ms: 60_000,
            max_attempts: 0,
            heartbeat_ms: 30_000,
            backoff_ms: 5_000,
            reconnect_min_ms: 500,
            reconnect_max_ms: 30_000,
            queue_cap: 1_000,
            batch: true,
        }
    }
}

/// A publisher's settings (JSON, snake_case).
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// Client login (with `secret`).
    pub login: Option<String>,
    /// Client secret.
    pub secret: Option<String>,
    /// Bearer token (see [`Publisher::set_token`]).
    pub token: Option<String>,
    /// The token comes from a provider: a first 4001 is retried with a fresh one.
    pub refresh: bool,
    /// Free-form client id.
    pub client_id: Option<String>,
    /// Keep-alive interval.
    pub heartbeat_ms: u64,
    /// Reconnect backoff floor.
    pub reconnect_min_ms: u64,
    /// Reconnect backoff cap.
    pub reconnect_max_ms: u64,
    /// How long a publish made while frames are out waits for others to share its frame
    /// before it goes in a frame of its own (0 = it waits for an answer alone); one made
    /// while none is out goes at once.
    pub linger_ms: u64,
    /// Most events in one frame (the server takes 1,000).
    pub max_batch: usize,
    /// Most frames sent and not answered; more publishes wait for an answer and then go
    /// together (Nagle's rule: under load frames grow instead of multiplying).
    pub max_frames: usize,
    /// Most bytes of events in one frame.
    pub max_batch_bytes: usize,
    /// Most publishes waiting for their answer; more are refused at once.
    pub queue_cap: usize,
    /// A publish not answered within this time fails with `timeout`.
    pub timeout_ms: u64,
    /// The socket closes after this long with nothing to answer (0 = never).
    pub idle_ms: u64,
}

impl Default for PublisherConfig {
    fn default() -> Self {
        PublisherConfig {
            login: None,
            secret: None,
            token: None,
            refresh: false,
            client_id: None,
            heartbeat_ms: 30_000,
            reconnect_min_ms: 500,
            reconnect_max_ms: 30_000,
            linger_ms: 5,
            max_batch: 500,
            max_frames: 16,
            max_batch_bytes: 1 << 20,
            queue_cap: 10_000,
            timeout_ms: 30_000,
            idle_ms: 30_000,
        }
    }
}

impl SessionConfig {
    /// Reads settings (JSON text); absent fields keep their defaults.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let o = object(json)?;
        let mut c = SessionConfig::default();
        read!(o => c {
            login: text, secret: text, token: text, refresh: flag, client_id: text,
            max_in_flight: int, handler_timeout_ms: int, max_attempts: int, heartbeat_ms: int,
            backoff_ms: int, reconnect_min_ms: int, reconnect_max_ms: int, queue_cap: int, batch: flag,
        });
        Ok(c)
    }
}

impl PublisherConfig {
    /// Reads settings (JSON text); absent fields keep their defaults.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let o = object(json)?;
        let mut c = PublisherConfig::default();
        read!(o => c {
            login: text, secret: text, token: text, refresh: flag, client_id: text,
            heartbeat_ms: int, reconnect_min_ms: int, reconnect_max_ms: int, linger_ms: int,
            max_batch: int, max_frames: int, max_batch_bytes: int, queue_cap: int, timeout_ms: int,
            idle_ms: int,
        });
        Ok(c)
    }
}
