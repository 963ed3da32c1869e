//! The broker's storage: a small synchronous trait ([`Store`]) and the rows it reads and
//! writes. Durable Object SQLite is synchronous, so the broker reads what it needs when
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
use super::{ConsumerId, Millis, Seq};

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

/// An event as stored: one row per accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Its seq.
    pub seq: Seq,
    /// Acceptance time.
    pub ts: Millis,
    /// CloudEvents `source` (for dedup).
    pub source: String,
    /// CloudEvents `id` (for dedup).
    pub eid: String,
    /// Ordering key, if any.
    pub key: Option<String>,
    /// Deliver from this time on (deferred publish).
    pub deliver_at: Option<Millis>,
    /// Not delivered after this time (expiry).
    pub expires_at: Option<Millis>,
    /// A request (delivered with `"reply": true`).
    pub reply: bool,
    /// The CloudEvent, JSON text, as accepted.
    pub body: String,
}

/// What the broker reads of an event to route it: everything but the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHead {
    /// Its seq.
    pub seq: Seq,
    /// Acceptance time.
    pub ts: Millis,
    /// Ordering key, if any.
    pub key: Option<String>,
    /// Deliver from this time on.
    pub deliver_at: Option<Millis>,
    /// Not delivered after this time.
    pub expires_at: Option<Millis>,
    /// A request.
    pub reply: bool,
}

impl From<&EventRow> for EventHead {
    fn from(e: &EventRow) -> Self {
        EventHead {
            seq: e.seq,
            ts: e.ts,
            key: e.key.clone(),
            deliver_at: e.deliver_at,
            expires_at: e.expires_at,
            reply: e.reply,
        }
    }
}

/// The persistent part of a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ChannelRow {
    /// Storage id (message and lease rows refer to it).
    pub id: u32,
    /// Wire name.
    pub name: String,
    /// The topic's head when the channel was made (for `published_total`).
    pub base_seq: Seq,
    /// The lowest seq the channel has not looked at: every seq below it that has no
    /// message row and is in no lease is finished (or was skipped) for this channel.
    pub cursor: Seq,
    /// Delivery is paused.
    pub paused: bool,
    /// Counters (see `ChannelStats`).
    pub counters: Counters,
    /// The channel's filter (JSON text), fixed when it was made.
    pub filter: Option<String>,
    /// Push settings (JSON text of `PushConfig`, with the secret).
    pub push: Option<String>,
    /// The last push error, for stats.
    pub push_error: Option<String>,
    /// A filtered channel judges each event as it is published: the events in
    /// (`judged_from`, `judged_through`] were judged then, and `filtered_ahead` of those
    /// at or after the cursor did not match (already in `filtered_total`, not in `depth`).
    pub judged_from: Seq,
    /// See `judged_from`.
    pub judged_through: Seq,
    /// See `judged_from`.
    pub filtered_ahead: u64,
    /// First deliveries in flight with no lease row (`[seq, owner, deadline,
    /// max_attempts, timeout_ms]`): a channel with few in flight keeps them in its row,
    /// written with the delivery, so a `fin` writes this row alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<(Seq, u64, Millis, u32, Millis)>,
}

/// A channel's monotonic counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Deliveries, first ones and redeliveries.
    pub delivered: u64,
    /// Messages finished.
    pub finished: u64,
    /// Messages given back.
    pub requeued: u64,
    /// Deliveries whose deadline passed.
    pub timed_out: u64,
    /// Messages dropped from an ephemeral channel's full backlog.
    pub dropped: u64,
    /// Events the channel's filter did not match.
    pub filtered: u64,
    /// Messages not delivered (again) because they expired.
    pub expired: u64,
    /// Push deliveries answered 2xx.
    pub push_ok: u64,
    /// Push deliveries that failed.
    pub push_failed: u64,
}

/// Where a message with a row stands in its channel. Messages without a row are either
/// "fresh" (at or after the cursor) or finished (before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowState {
    /// Delivered, until a deadline (redeliveries, touched or pulled messages).
    InFlight,
    /// May be delivered (requeued, redriven, or a deferral that came due).
    Ready,
    /// May be delivered from `due` on.
    Deferred,
    /// A dead letter.
    Dead,
    /// Ready, but an earlier message with its ordering key is still pending.
    Parked,
}

impl RowState {
    /// Whether the message is still pending (not finished, not dead).
    pub fn pending(self) -> bool {
        !matches!(self, RowState::Dead)
    }
}

/// A message row without its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHead {
    /// Channel storage id.
    pub channel: u32,
    /// Which message.
    pub seq: Seq,
    /// Its state.
    pub state: RowState,
    /// In flight: to whom.
    pub owner: ConsumerId,
    /// In flight: the deadline; deferred: when it becomes ready.
    pub due: Millis,
    /// Deliveries so far.
    pub attempt: u32,
    /// Failed deliveries so far.
    pub failures: u32,
    /// In flight: failures after which it is dead (0 = never).
    pub max_attempts: u32,
    /// In flight: how long a `touch` extends the deadline.
    pub timeout_ms: Millis,
    /// Ordering key, if any (copied from the event).
    pub key: Option<String>,
    /// Expiry of the event, if any (copied from the event).
    pub expires_at: Option<Millis>,
    /// Whether a checkpoint is stored.
    pub has_checkpoint: bool,
}

/// What a message write does to the stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointWrite {
    /// Leave it as it is.
    Keep,
    /// Replace it (JSON text).
    Set(String),
    /// Remove it.
    Clear,
}

/// First deliveries of one broker call to one owner: one row for all of them, so a
/// message delivered for the first time costs no row of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    /// Channel storage id.
    pub channel: u32,
    /// Lease id, unique within the channel.
    pub id: u64,
    /// To whom.
    pub owner: ConsumerId,
    /// The deadline of every message in it.
    pub deadline: Millis,
    /// Failures after which a message is dead (0 = never).
    pub max_attempts: u32,
    /// How long a `touch` extends a deadline.
    pub timeout_ms: Millis,
    /// The messages still in flight under it, ascending.
    pub seqs: Vec<Seq>,
}

/// How many rows of each state a channel has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// In flight (rows, not leases).
    pub in_flight: u64,
    /// Ready.
    pub ready: u64,
    /// Deferred.
    pub deferred: u64,
    /// Dead.
    pub dead: u64,
    /// Parked.
    pub parked: u64,
    /// Rows with an ordering key that are pending and not in flight.
    pub keyed_waiting: u64,
}

/// A dead letter as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadRow {
    /// Which message.
    pub seq: Seq,
    /// Failed deliveries.
    pub failures: u32,
    /// Last checkpoint (JSON text).
    pub checkpoint: Option<String>,
    /// The event (JSON text), if still stored.
    pub body: Option<String>,
}

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
