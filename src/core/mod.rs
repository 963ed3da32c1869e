//! The queue: topics, channels, consumers, in-flight deadlines, deferred messages,
//! ordering keys, dead letters.
//!
//! A pure state machine in the manner of quinn-proto: no I/O, no clock, no randomness,
//! no wasm types. The driver (the topic Durable Object, or the in-process `memory://` bus)
//! calls [`Topic`]'s methods with the current time, then drains
//! [`Topic::drain_effects`] (deliveries, rows to persist, sockets to close) and sets its
//! one alarm to [`Topic::poll_timeout`].
//!
//! Must not touch: storage, sockets, timers, `Date.now()`.

mod channel;
mod channels;
mod consumer;
mod consumers;
mod dedup;
mod delivery;
mod effect;
mod error;
mod topic;

pub use channel::{Channel, Key};
pub use consumer::{Consumer, ConsumerSettings};
pub use dedup::{pair_hash, DedupFilter, Lookup, Spilled};
pub use effect::{ChannelRecord, Delivery, Effect, MessageRecord, MessageState, Store};
pub use error::CoreError;
pub use topic::{checkpoint_update, Checkpoint, NewMessage, Topic, EPHEMERAL_BACKLOG};

/// A per-topic sequence number (1, 2, 3, ...).
pub type Seq = u64;

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// A consumer's id within its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConsumerId(pub u64);

/// Close code: the channel or topic was deleted.
pub const CLOSE_DELETED: u16 = 4004;
/// Close code: the consumer was silent for twice its heartbeat interval.
pub const CLOSE_HEARTBEAT: u16 = 4008;
