//! The broker: everything one topic (or one partition of a topic) does, as a pure state
//! machine in the manner of quinn-proto. No I/O, no clock, no randomness, no wasm types.
//!
//! A driver (the topic Durable Object in `src/worker/topic`, the `memory://` bus in
//! `src/client/memory.rs`) owns a [`Broker`] and a [`Store`] and calls the broker with
//! the current time for every event it receives: a socket opened, a frame, a socket
//! closed, an HTTP operation, the alarm. The broker reads and writes storage through the
//! synchronous [`Store`] trait inside the driver's transaction and queues [`Output`]s
//! (frames to send, sockets to close, attachments to save, responses for waiting
//! requests, log lines), which the driver takes with [`Broker::drain`] once the
//! transaction has committed. [`Broker::poll_timeout`] says when to call
//! [`Broker::handle_timeout`] next (the one Durable Object alarm).
//!
//! Memory holds what is in flight and small indexes, never the retained backlog: events,
//! deferred messages, dead letters, checkpoints and ordering-key state live in storage
//! and are read in pages (see `channel.rs`).
//!
//! # Layout
//!
//! - `broker.rs`: the state, start-up ([`Broker::load`]) and small helpers.
//! - `request.rs` and `http.rs`: an HTTP operation's input and answer, and serving it.
//! - `sockets.rs` and `frames.rs`: sockets (pending, `hello`, close) and frame dispatch.
//! - `publish.rs`: appending events (reserved sources, dedup, limits) and `respond`.
//! - `delivery.rs`: choosing the next message and putting it in flight;
//!   `settle.rs`: fin, touch, giving back; `ordering.rs`: ordering keys;
//!   `pull.rs`: `settle` for pulled messages.
//! - `flush.rs`: the end of every call (lease rows, channel rows, frames).
//! - `timers.rs`: deadlines, deferrals, heartbeats, hello deadlines; `retention.rs`:
//!   pruning; `admin.rs`: channel administration and stats; `dedup/`: the dedup window and its spill tables.
//! - `channel.rs` and `consumer.rs`: a channel's and a socket's state in memory.
//! - `filter/`: CloudEvents Subscriptions API filters and CESQL.
//! - `store.rs`, `rows.rs` and `mem_store/`: the storage trait, its rows, and the in-memory store.
//! - `output.rs`: what the broker asks its driver to do.
//!
//! Must not touch: sockets, timers, HTTP, `Date.now()`, randomness (the driver passes
//! random bytes in where the bus makes ids).

mod admin;
mod broker;
mod channel;
mod consumer;
mod dedup;
mod delivery;
pub mod filter;
mod flush;
mod frames;
mod http;
mod load;
mod mem_store;
mod ordering;
mod output;
mod peek;
mod publish;
mod pull;
pub use pull::MAX_SETTLE_ITEMS;
mod push;
mod request;
mod retention;
mod rows;
mod settle;
mod sockets;
mod stats;
pub mod store;
mod timers;

pub use broker::{Broker, Partition};
pub use consumer::ConsumerSettings;
pub use dedup::{pair_hash, DedupFilter, Lookup};
pub use frames::FrameOutcome;
pub use mem_store::MemStore;
pub use output::{LogLevel, Output, SocketRecord};
pub use publish::PublishOptions;
pub use request::{Answer, Operation, TopicRequest, REQUEST_TIMEOUT_MS};
pub use sockets::Caller;
pub use store::{Store, StoreError};

/// A per-partition sequence number (1, 2, 3, ...).
pub type Seq = u64;

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// Who holds a message in flight: a socket consumer (its socket id), the channel's pull
/// consumers, or its push endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConsumerId(pub u64);

impl ConsumerId {
    /// Messages taken by `pull` (settled by `settle`).
    pub const PULL: ConsumerId = ConsumerId(1);
    /// Messages being pushed to the channel's endpoint.
    pub const PUSH: ConsumerId = ConsumerId(2);

    /// Whether this is a socket consumer.
    pub fn is_socket(self) -> bool {
        self.0 > 2
    }
}

/// A socket's id, chosen by the driver (random, so ids survive a restart without a
/// counter in storage); values 0..=2 are reserved.
pub type SocketId = u64;

/// Most messages an ephemeral channel keeps; older ones are dropped.
pub const EPHEMERAL_BACKLOG: u64 = 10_000;

/// The latest time the broker stores (2^53 - 1 ms): every stored integer is exact as a
/// JavaScript number, which is how Durable Object SQLite hands it back.
pub const MAX_TIME_MS: Millis = (1 << 53) - 1;

/// How long a socket may wait before its `hello`.
pub const HELLO_TIMEOUT_MS: Millis = 10_000;

/// Most sockets an object holds that have not said an accepted `hello`.
pub const MAX_PENDING_SOCKETS: usize = 1_000;
