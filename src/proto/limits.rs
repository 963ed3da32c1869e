//! Limits of the contract (`docs/PROTOCOL.md`, "Limits"), with their defaults.
//!
//! Each can be lowered (never raised) by a `[vars]` entry in `wrangler.toml`; the Worker
//! reads them once per isolate with [`Limits::with_overrides`].

/// Every size and range limit the bus enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest serialized CloudEvent, in bytes.
    pub max_event_bytes: usize,
    /// Most events in one batch.
    pub max_batch_events: usize,
    /// Largest batch body, in bytes.
    pub max_batch_bytes: usize,
    /// Largest checkpoint (serialized JSON), in bytes.
    pub max_checkpoint_bytes: usize,
    /// Upper bound of `max_in_flight` and of `rdy`.
    pub max_in_flight: u32,
    /// Lower bound of `handler_timeout_ms`.
    pub min_handler_timeout_ms: u64,
    /// Upper bound of `handler_timeout_ms`.
    pub max_handler_timeout_ms: u64,
    /// Lower bound of `heartbeat_ms`.
    pub min_heartbeat_ms: u64,
    /// Upper bound of `heartbeat_ms`.
    pub max_heartbeat_ms: u64,
    /// Longest delay of a deferred message.
    pub max_delay_ms: u64,
    /// Most events a topic holds before publishes get `storage_full`.
    pub max_topic_events: u64,
    /// Largest WebSocket frame, in bytes: one event of the largest size and room around
    /// it (Workers take WebSocket messages of at most 1 MiB, so a `pub` frame's `events`
    /// stay under the HTTP batch limit).
    pub max_frame_bytes: usize,
    /// How long an event finished by every channel stays available to `seek`.
    pub retention_ms: u64,
    /// How long a (`source`, `id`) pair is remembered for idempotent publish.
    pub dedup_window_ms: u64,
    /// Most (`source`, `id`) pairs a topic keeps in memory for idempotent publish; pairs
    /// of a fuller window are kept in storage ("spilled") and cost a lookup there.
    pub dedup_memory_pairs: usize,
    /// Most channels a topic (partition) holds.
    pub max_channels: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: 1 << 20,
            max_batch_events: 1_000,
            max_batch_bytes: 5 << 20,
            max_checkpoint_bytes: 64 << 10,
            max_in_flight: 2_500,
            min_handler_timeout_ms: 1_000,
            max_handler_timeout_ms: 3_600_000,
            min_heartbeat_ms: 5_000,
            max_heartbeat_ms: 120_000,
            max_delay_ms: 7 * 24 * 3_600_000,
            max_topic_events: 1_000_000,
            max_frame_bytes: (1 << 20) + (64 << 10),
            retention_ms: 7 * 24 * 3_600_000,
            dedup_window_ms: 600_000,
            dedup_memory_pairs: 200_000,
            max_channels: 1_000,
        }
    }
}

impl Limits {
    /// Applies overrides such as `("MAX_EVENT_BYTES", "1024")`. Values can only lower a
    /// limit; unknown names and unparsable or larger values are ignored.
    pub fn with_overrides<'a>(mut self, vars: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        fn lower<T: PartialOrd + std::str::FromStr>(slot: &mut T, v: &str) {
            if let Ok(n) = v.trim().parse::<T>() {
                if n < *slot {
                    *slot = n;
                }
            }
        }
        for (k, v) in vars {
            match k {
                "MAX_EVENT_BYTES" => lower(&mut self.max_event_bytes, &v),
                "MAX_BATCH_EVENTS" => lower(&mut self.max_batch_events, &v),
                "MAX_BATCH_BYTES" => lower(&mut self.max_batch_bytes, &v),
                "MAX_CHECKPOINT_BYTES" => lower(&mut self.max_checkpoint_bytes, &v),
                "MAX_IN_FLIGHT" => lower(&mut self.max_in_flight, &v),
                "MAX_HANDLER_TIMEOUT_MS" => lower(&mut self.max_handler_timeout_ms, &v),
                "MAX_DELAY_MS" => lower(&mut self.max_delay_ms, &v),
                "MAX_TOPIC_EVENTS" => lower(&mut self.max_topic_events, &v),
                "RETENTION_MS" => lower(&mut self.retention_ms, &v),
                "DEDUP_WINDOW_MS" => lower(&mut self.dedup_window_ms, &v),
                "DEDUP_MEMORY_PAIRS" => lower(&mut self.dedup_memory_pairs, &v),
                "MAX_CHANNELS" => lower(&mut self.max_channels, &v),
                _ => {}
            }
        }
        self
    }

    /// Names of the variables [`Limits::with_overrides`] reads.
    pub const VARS: [&'static str; 12] = [
        "MAX_EVENT_BYTES",
        "MAX_BATCH_EVENTS",
        "MAX_BATCH_BYTES",
        "MAX_CHECKPOINT_BYTES",
        "MAX_IN_FLIGHT",
        "MAX_HANDLER_TIMEOUT_MS",
        "MAX_DELAY_MS",
        "MAX_TOPIC_EVENTS",
        "RETENTION_MS",
        "DEDUP_WINDOW_MS",
        "DEDUP_MEMORY_PAIRS",
        "MAX_CHANNELS",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_only_lower() {
        let l = Limits::default().with_overrides([
            ("MAX_EVENT_BYTES", "100".to_string()),
            ("MAX_IN_FLIGHT", "99999".to_string()),
            ("MAX_TOPIC_EVENTS", "x".to_string()),
        ]);
        assert_eq!(l.max_event_bytes, 100);
        assert_eq!(l.max_in_flight, 2_500);
        assert_eq!(l.max_topic_events, 1_000_000);
    }
}
