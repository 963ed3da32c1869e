//! The client core of the npm package: session state machines, frame encode/decode,
//! credit and backoff, and the in-process `memory://` bus that runs the server core
//! (`memory.rs`). All of it is pure: the TypeScript in `js/` owns sockets, timers, the
//! clock and randomness and passes them in.
//!
//! - `session.rs`: a consumer socket (handshake, credit, settles, handler backoff), with
//!   `acks.rs` (acknowledgements coalesced into frames with `ids`).
//! - `publisher.rs`: a publisher socket (pipelined `pub` frames batched by a linger).
//! - `link.rs`: what both share: phase, keep-alive, reconnect, which closes are final.
//! - `partitions.rs`: credit spread over a partitioned topic's sockets, publish routing.
//! - `wasm.rs` (feature `client`): the wasm-bindgen surface wasm-pack builds; the
//!   `memory://` bus is exported only with feature `memory` (a second wasm, so the main
//!   entry's carries no queue core).

mod acks;
mod action;
pub mod backoff;
mod config;
pub mod link;
pub mod memory;
pub mod partitions;
pub mod publisher;
mod refs;
pub mod session;

#[cfg(feature = "client")]
mod wasm;
