//! The settings of the client's sessions, as the TypeScript driver passes them (JSON,
//! snake_case; every field has a default).

use serde::Deserialize;

/// A subscriber's settings, as the driver passes them (JSON, snake_case).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
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
    /// How long a publish waits for others to share its frame (0 = the next timer).
    pub linger_ms: u64,
    /// Most events in one frame (the server takes 1,000).
    pub max_batch: usize,
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
            max_batch_bytes: 1 << 20,
            queue_cap: 10_000,
            timeout_ms: 30_000,
            idle_ms: 30_000,
        }
    }
}
