//! A consumer: one WebSocket attached to one channel, with its credit and settings.

use super::{Millis, Seq};
use std::collections::BTreeSet;

/// Settings a consumer chose in `hello`, already checked against the limits.
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

/// A consumer's state.
#[derive(Debug, Clone)]
pub struct Consumer {
    /// Index of its channel in the topic.
    pub channel: u32,
    /// Settings from `hello`.
    pub settings: ConsumerSettings,
    /// Messages that may be in flight at once (`rdy`).
    pub rdy: u32,
    /// Messages in flight to it.
    pub in_flight: BTreeSet<Seq>,
    /// When it last sent a frame.
    pub last_seen: Millis,
    /// Its key in the topic's heartbeat queue, while it holds messages.
    pub heartbeat_key: Option<Millis>,
}

impl Consumer {
    /// Whether it may take one more message.
    pub fn has_credit(&self) -> bool {
        (self.in_flight.len() as u64) < u64::from(self.rdy)
    }

    /// When it is considered gone if it stays silent.
    pub fn gone_at(&self) -> Millis {
        self.last_seen.saturating_add(self.settings.heartbeat_ms.saturating_mul(2))
    }
}
