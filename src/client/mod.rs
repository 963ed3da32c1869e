//! The client core of the npm package: session state machine, frame encode/decode,
//! credit and backoff (`session.rs`, `backoff.rs`), and the in-process `memory://` bus
//! that runs the server core (`memory.rs`). All of it is pure: the TypeScript in `js/`
//! owns sockets, timers, the clock and randomness and passes them in.
//!
//! `wasm.rs` (feature `client`) is the wasm-bindgen surface wasm-pack builds.

mod action;
pub mod backoff;
pub mod memory;
pub mod session;

#[cfg(feature = "client")]
mod wasm;
