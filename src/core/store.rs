//! The broker's storage: a small synchronous trait ([`Store`]) over the rows of
//! `rows.rs`. Durable Object SQLite is synchronous, so the broker reads what it needs when
//! it needs it (a page of backlog, one event body, the next deferred message) and writes
//! through the same trait; the topic object implements it with SQL, `memory://` and the
//! native tests with [`super::MemStore`].
//!
//! Every write of one broker call belongs to one transaction that the driver opens and
//! commits around the call. A write that fails makes the whole call fail: the driver rolls
//! the transaction back and throws the broker away, and the next call rebuilds it from
//! storage, so a storage error changes nothing in storage or in memory.
//!
//! Must not touch: time, sockets, the wire.

pub use super::dedup::Spilled;
pub use super::rows::*;
use super::{Millis, Seq};

/// A storage failure. `full` is SQLite's own size limit (answered `507 storage_full`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage: {message}")]
pub struct StoreError {
    /// The database is at its size limit.
    pub full: bool,
    /// What failed (logged, never shown to clients).
    pub message: String,
}

impl StoreError {
    /// Any failure.
    pub fn other(message: impl Into<String>) -> Self {
        StoreError { full: false, message: message.into() }
    }

    /// What a client is told: `507 storage_full` at the size limit, else a bare
    /// `500 internal` (the message is for the log only).
    pub fn to_api(&self) -> crate::proto::ApiError {
        use crate::proto::{ApiError, ErrorCode};
        if self.full {
            ApiError::new(
                ErrorCode::StorageFull,
                "the topic's storage is full; finish or delete events first",
            )
        } else {
            ApiError::new(ErrorCode::Internal, "internal error")
        }
    }
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Synchronous storage of one topic (partition). All methods may fail with
/// [`StoreError`]; the broker then fails the whole call.
pub trait Store {
    // ---- meta ----

    /// A meta value.
    fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a meta value.
    fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()>;

    // ---- events ----

    /// The highest stored seq.
    fn max_seq(&self) -> StoreResult<Option<Seq>>;
    /// Appends an event.
    fn insert_event(&mut self, e: &EventRow) -> StoreResult<()>;
    /// Appends events (a store may write them in fewer statements).
    fn insert_events(&mut self, rows: &[EventRow]) -> StoreResult<()> {
        rows.iter().try_for_each(|e| self.insert_event(e))
    }
    /// An event's body (JSON text) and whether it is a request.
    fn event_body(&self, seq: Seq) -> StoreResult<Option<(String, bool)>>;
    /// The bodies of the stored events with seq in `from..=to`, ascending (one read for a
    /// call's deliveries).
    fn event_bodies(&self, from: Seq, to: Seq) -> StoreResult<Vec<(Seq, String, bool)>> {
        let mut out = Vec::new();
        for seq in from..=to {
            if let Some((body, reply)) = self.event_body(seq)? {
                out.push((seq, body, reply));
            }
        }
        Ok(out)
    }
    /// Heads of stored events with seq >= `from`, ascending, at most `limit`.
    fn event_heads(&self, from: Seq, limit: usize) -> StoreResult<Vec<EventHead>>;
    /// The first stored event with seq >= `from`: (seq, acceptance time).
    fn event_at_or_after(&self, from: Seq) -> StoreResult<Option<(Seq, Millis)>>;
    /// How many events are stored with seq >= `from`.
    fn count_events_from(&self, from: Seq) -> StoreResult<u64>;
    /// How many stored events with seq in `from..=to` expired by `now` (an expiry time at
    /// or before it).
    fn count_expired(&self, from: Seq, to: Seq, now: Millis) -> StoreResult<u64>;
    /// Message rows of channel `ch` waiting to be delivered again whose event expired by
    /// `now`: (ready or parked, deferred).
    fn count_expired_rows(&self, ch: u32, now: Millis) -> StoreResult<(u64, u64)>;
    /// (source, id, seq, ts) of stored events accepted at or after `since`, newest first,
    /// at most `limit`.
    fn recent_pairs(&self, since: Millis, limit: usize) -> StoreResult<Vec<(String, String, Seq, Millis)>>;
    /// Whether event `seq` has this (`source`, `eid`) and was accepted at or after `since`.
    fn confirm_pair(&self, seq: Seq, source: &str, eid: &str, since: Millis) -> StoreResult<bool>;
    /// Deletes up to `limit` events with seq < `below`, accepted at or before `cutoff`,
    /// that no channel has a message row for. Returns their seqs, ascending.
    fn prune_events(&mut self, below: Seq, cutoff: Millis, limit: usize) -> StoreResult<Vec<Seq>>;
    /// The acceptance time of the oldest event with seq < `below` that no channel has a
    /// message row for (the next one pruning may remove).
    fn oldest_prunable(&self, below: Seq) -> StoreResult<Option<Millis>>;

    // ---- dedup spill (pairs the in-memory filter forgot inside the window) ----
    // Two spill tables (0 and 1), by generation: the broker spills into one and empties
    // the other whole once every pair in it has left the window (see `core::dedup`).

    /// Keeps spilled pairs in spill table `table`. A store may keep fewer bits of the
    /// hash than 64, never fewer entries: two pairs whose hashes it cannot tell apart
    /// are both kept (each is confirmed against its event).
    fn spill(&mut self, table: u8, entries: &[Spilled]) -> StoreResult<()>;
    /// The seqs of spilled pairs with this hash (or one the store cannot tell from it)
    /// accepted at or after `since`, in either table, newest first.
    fn spilled(&self, hash: u64, since: Millis) -> StoreResult<Vec<Seq>>;
    /// The hashes of the spilled pairs accepted at or after `since` (at least their top 53
    /// bits), or `None` if there are more than `most` (or the store cannot list them).
    fn spilled_hashes(&self, since: Millis, most: usize) -> StoreResult<Option<Vec<u64>>>;
    /// Deletes every pair in spill table `table`.
    fn clear_spilled(&mut self, table: u8) -> StoreResult<()>;
    /// Whether spill tables 0 and 1 hold any pair, and whether earlier builds' tables do
    /// (counted with table 0 too, and emptied with it).
    fn spill_used(&self) -> StoreResult<[bool; 3]>;

    // ---- channels ----

    /// Every channel row.
    fn channels(&self) -> StoreResult<Vec<ChannelRow>>;
    /// Inserts or replaces a channel row.
    fn put_channel(&mut self, c: &ChannelRow) -> StoreResult<()>;
    /// Deletes a channel with its message and lease rows.
    fn delete_channel(&mut self, id: u32) -> StoreResult<()>;

    // ---- messages ----

    /// Every in-flight message row (start-up).
    fn in_flight_rows(&self) -> StoreResult<Vec<MessageHead>>;
    /// Row counts of a channel by state.
    fn row_counts(&self, channel: u32) -> StoreResult<RowCounts>;
    /// One message row with its checkpoint.
    fn message(&self, channel: u32, seq: Seq) -> StoreResult<Option<(MessageHead, Option<String>)>>;
    /// The checkpoint of a message row.
    fn checkpoint(&self, channel: u32, seq: Seq) -> StoreResult<Option<String>>;
    /// Inserts or updates a message row.
    fn put_message(&mut self, m: &MessageHead, checkpoint: &CheckpointWrite) -> StoreResult<()>;
    /// Deletes a message row.
    fn delete_message(&mut self, channel: u32, seq: Seq) -> StoreResult<()>;
    /// Deletes every message and lease row of a channel.
    fn clear_messages(&mut self, channel: u32) -> StoreResult<()>;
    /// Ready rows with seq > `after`, ascending, at most `limit`.
    fn ready_rows(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<MessageHead>>;
    /// The earliest due time of the channel's deferred rows.
    fn next_due(&self, channel: u32) -> StoreResult<Option<Millis>>;
    /// Deferred rows due at or before `until`, by due time, at most `limit`.
    fn due_rows(&self, channel: u32, until: Millis, limit: usize) -> StoreResult<Vec<MessageHead>>;
    /// Dead rows with seq > `after`, ascending, at most `limit`, with checkpoints and bodies.
    fn dead_rows(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<DeadRow>>;
    /// Dead rows' seqs with seq > `after`, ascending, at most `limit`.
    fn dead_seqs(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<Seq>>;
    /// Whether a pending row with ordering key `key` and seq < `seq` exists.
    fn key_waiting_before(&self, channel: u32, key: &str, seq: Seq) -> StoreResult<bool>;
    /// The lowest pending, not in flight, row with key `key` and seq > `after`.
    fn next_of_key(&self, channel: u32, key: &str, after: Seq) -> StoreResult<Option<MessageHead>>;
    /// Ready rows with key `key` and seq > `after` become parked; returns how many.
    fn park_after(&mut self, channel: u32, key: &str, after: Seq) -> StoreResult<u64>;

    // ---- leases ----

    /// Every lease row (start-up).
    fn leases(&self) -> StoreResult<Vec<LeaseRow>>;
    /// Inserts or replaces a lease row.
    fn put_lease(&mut self, l: &LeaseRow) -> StoreResult<()>;
    /// Deletes a lease row.
    fn delete_lease(&mut self, channel: u32, id: u64) -> StoreResult<()>;

    // ---- the whole topic ----

    /// Deletes everything.
    fn wipe(&mut self) -> StoreResult<()>;
}
