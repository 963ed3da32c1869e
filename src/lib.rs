//! ismld: an NSQ-inspired, CloudEvents-native event bus for Cloudflare Workers.
//!
//! # Layout
//!
//! - [`core`]: the broker, everything one topic (partition) does, as a pure state machine:
//!   no I/O, no clock, no randomness, no wasm types. It reads and writes storage through a
//!   small synchronous trait and hands its driver outputs. Tested natively on a virtual
//!   clock (`tests/broker_*.rs`).
//! - [`proto`]: the wire, defined once for the Worker, the wasm client, the TypeScript and
//!   the C# client: frames, HTTP bodies, CloudEvents, names, limits, error and close codes,
//!   routes, NSQ and gRPC-Web/Connect bodies.
//! - `worker` (feature `worker`): the Cloudflare driver, split by where it runs:
//!   `front/` (the stateless front Worker), `topic/` (the topic Durable Object: the broker
//!   over SQLite), `registry/` (client and registry objects).
//! - [`client`]: the client core of the npm package (session state machine, codec,
//!   backoff) and the `memory://` driver (the broker over an in-memory store); its
//!   wasm-bindgen surface is behind feature `client`.
//!
//! `ARCHITECTURE.md` walks the publish and `fin` paths file by file; `docs/PROTOCOL.md`
//! is the wire reference; `README.md` says how to run it.

#![warn(missing_docs)]

pub mod core;
pub mod proto;

#[cfg(feature = "worker")]
mod worker;

pub mod client;

#[cfg(not(target_arch = "wasm32"))]
pub mod fuzzing;
