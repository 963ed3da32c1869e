//! What the broker asks its driver to do once the call's writes are committed.

use super::{Millis, Seq, SocketId};
use serde::{Deserialize, Serialize};

/// One thing for the driver to do, in order. Serialized (`{"to": "send", ...}`) for the
/// TypeScript half of `memory://`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Output {
    /// Send a text frame. `ack` frames acknowledge a durable change: the driver sends
    /// them only once the commit is durable (`storage.sync()` on Cloudflare).
    Send {
        /// To which socket.
        socket: SocketId,
        /// The frame.
        text: String,
        /// Whether it acknowledges a write.
        ack: bool,
    },
    /// Close a socket with a contract close code.
    Close {
        /// Which socket.
        socket: SocketId,
        /// Close code (`crate::proto::close`).
        code: u16,
        /// Human text.
        reason: String,
    },
    /// Save what the broker must know of a socket after a restart (the Durable Object
    /// keeps it in the socket's attachment, which survives hibernation).
    Attach {
        /// Which socket.
        socket: SocketId,
        /// Its record.
        record: SocketRecord,
    },
    /// The first response to a request: every HTTP request waiting on `seq` completes
    /// with this CloudEvent (JSON text).
    Response {
        /// The request event's seq.
        seq: Seq,
        /// The response event.
        event: String,
    },
    /// A long-polling `pull` got its messages: its answer body.
    PullReady {
        /// Which waiting pull.
        waiter: u64,
        /// The `200` body.
        body: String,
    },
    /// A push delivery: POST `body` with `headers` to `url`, within `timeout_ms`, then
    /// report the answer with [`super::Broker::pushed`] (`channel`, `seq`, `attempt`).
    Push {
        /// Channel storage id.
        channel: u32,
        /// The message.
        seq: Seq,
        /// Its attempt (the report names it: a stale report is ignored).
        attempt: u32,
        /// Where.
        url: String,
        /// Request headers.
        headers: Vec<(String, String)>,
        /// Request body.
        body: Vec<u8>,
        /// How long the request may take.
        timeout_ms: Millis,
    },
    /// A client socket that received deliveries was last checked a while ago: the driver
    /// checks its credentials again and calls [`super::Broker::revoke`] if they were
    /// revoked (so revocation reaches sockets that never send a frame).
    Recheck {
        /// Which socket.
        socket: SocketId,
    },
    /// A `hello` made a channel in this partition of a topic of several: the driver
    /// makes it in every other partition too (with default settings, where it is not
    /// there yet), so it receives the events published to any of them from now on.
    ChannelMade {
        /// The channel's name.
        channel: String,
    },
    /// A structured log line.
    Log {
        /// Level.
        level: LogLevel,
        /// Event name, e.g. `channel.created`.
        event: &'static str,
        /// Fields (names, counts, codes; never secrets or data).
        fields: serde_json::Value,
    },
}

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Significant events.
    Info,
    /// Refused or degraded operations.
    Warn,
    /// Failures of the bus itself.
    Error,
}

/// What survives of a socket across a restart of the broker (hibernation): kept by the
/// driver and handed back to [`super::Broker::load`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketRecord {
    /// Socket id.
    pub id: SocketId,
    /// Consumer socket: its channel; publisher socket: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// When it was opened (for the `hello` deadline).
    pub opened_at: Millis,
    /// Its `hello` was accepted.
    #[serde(default)]
    pub welcomed: bool,
    /// The `source` of events it publishes (`/clients/{login}`, `/anonymous`, `/admin`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// It may send `pub` frames.
    #[serde(default)]
    pub may_publish: bool,
    /// Credentials were accepted on the upgrade: its `hello` may omit them.
    #[serde(default)]
    pub preauthorized: bool,
    /// Credit.
    #[serde(default)]
    pub rdy: u32,
    /// Deadline of each delivery.
    #[serde(default)]
    pub handler_timeout_ms: u64,
    /// Failures after which a message is dead.
    #[serde(default)]
    pub max_attempts: u32,
    /// Keep-alive interval.
    #[serde(default)]
    pub heartbeat_ms: u64,
    /// It asked for `msgs` frames.
    #[serde(default)]
    pub batch: bool,
    /// The address it connected from, if the driver knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}
