//! The wasm-bindgen client core (feature `client`): session state machine, frame
//! encode/decode and backoff for the npm package. Owns no sockets and no timers.
//!
//! Not built yet: the npm package is issue #5. The wire types it will use live in
//! [`crate::proto`] already.
