//! ismld: an NSQ-inspired, CloudEvents-native event bus for Cloudflare Workers.
//!
//! # Layout
//!
//! - [`core`]: the queue as a pure state machine (topics, channels, consumers, deadlines).
//!   No I/O, no clock; time is an argument. Tested natively on a virtual clock.
//! - [`proto`]: the wire: frames, HTTP bodies, CloudEvents, names, limits, error codes.
//!   Shared by the Worker and the client.
//! - `worker` (feature `worker`): the Cloudflare adapter: routing, the topic Durable
//!   Object, SQLite persistence, alarms, hibernatable WebSockets.
//! - [`client`]: the client core of the npm package (sessions, backoff, the `memory://`
//!   bus); its wasm-bindgen surface is behind feature `client`.
//!
//! See `README.md` for how to run it and `../shared/PROTOCOL.md` for the contract.

#![warn(missing_docs)]

pub mod core;
pub mod proto;

#[cfg(feature = "worker")]
mod worker;

pub mod client;
