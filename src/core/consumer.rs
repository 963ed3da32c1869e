//! A socket as the broker holds it: a pending socket (no accepted `hello` yet), a
//! publisher socket, or a consumer of one channel with its credit and settings.

use super::output::SocketRecord;
use super::{Millis, Seq};
use crate::proto::frame::{in_range, Hello};
use crate::proto::{ApiError, Limits};
use std::collections::BTreeSet;

/// Settings a consumer chose in `hello`, checked against the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// Deadline of each delivery, from the moment it is sent or touched.
    pub handler_timeout_ms: Millis,
    /// Failures after which a message is dead (0 = unlimited).
    pub max_attempts: u32,
    /// Expected keep-alive interval; silence for twice this closes the consumer.
    pub heartbeat_ms: Millis,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings { handler_timeout_ms: 60_000, max_attempts: 0, heartbeat_ms: 30_000 }
    }
}

impl ConsumerSettings {
    /// Checks the consumer settings of a `hello` against the limits, applying the
    /// contract's defaults. Returns the initial credit and the settings.
    pub fn from_hello(h: &Hello, l: &Limits) -> Result<(u32, ConsumerSettings), ApiError> {
        let max_in_flight =
            in_range("max_in_flight", h.max_in_flight.unwrap_or(1), 1, u64::from(l.max_in_flight))?;
        let handler_timeout_ms = in_range(
            "handler_timeout_ms",
            h.handler_timeout_ms.unwrap_or(60_000),
            l.min_handler_timeout_ms,
            l.max_handler_timeout_ms,
        )?;
        let heartbeat_ms = in_range(
            "heartbeat_ms",
            h.heartbeat_ms.unwrap_or(30_000),
            l.min_heartbeat_ms,
            l.max_heartbeat_ms,
        )?;
        let max_attempts = in_range("max_attempts", h.max_attempts.unwrap_or(0), 0, u64::from(u32::MAX))?;
        Ok((
            max_in_flight as u32,
            ConsumerSettings { handler_timeout_ms, max_attempts: max_attempts as u32, heartbeat_ms },
        ))
    }
}

/// One socket.
#[derive(Debug, Clone)]
pub struct Socket {
    /// What survives a restart.
    pub record: SocketRecord,
    /// Its channel's storage id, once it is an attached consumer.
    pub channel: Option<u32>,
    /// Messages in flight to it.
    pub in_flight: BTreeSet<Seq>,
    /// When it last sent a frame (or the runtime answered its ping).
    pub last_seen: Millis,
    /// Its key in the heartbeat timers, while it holds messages.
    pub heartbeat_at: Option<Millis>,
    /// When its credentials are due for a check, if a check is armed.
    pub recheck_at: Option<Millis>,
    /// Deliveries to it, messages it finished, messages it gave back (since the broker
    /// started: not stored).
    pub counts: SocketCounts,
}

/// A socket consumer's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketCounts {
    /// Messages sent to it.
    pub delivered: u64,
    /// Messages it finished.
    pub finished: u64,
    /// Messages taken back from it.
    pub requeued: u64,
}

impl Socket {
    /// A socket from its record.
    pub fn new(record: SocketRecord, now: Millis) -> Self {
        Socket {
            record,
            channel: None,
            in_flight: BTreeSet::new(),
            last_seen: now,
            heartbeat_at: None,
            recheck_at: None,
            counts: SocketCounts::default(),
        }
    }

    /// Its consumer settings.
    pub fn settings(&self) -> ConsumerSettings {
        ConsumerSettings {
            handler_timeout_ms: self.record.handler_timeout_ms,
            max_attempts: self.record.max_attempts,
            heartbeat_ms: self.record.heartbeat_ms,
        }
    }

    /// Whether it may take one more message.
    pub fn has_credit(&self) -> bool {
        self.channel.is_some() && (self.in_flight.len() as u64) < u64::from(self.record.rdy)
    }

    /// When it is considered gone if it stays silent.
    pub fn gone_at(&self) -> Millis {
        self.last_seen.saturating_add(self.record.heartbeat_ms.saturating_mul(2))
    }
}
