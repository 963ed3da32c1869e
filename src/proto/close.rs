//! WebSocket close codes of the contract, defined once for the Worker, the wasm client
//! and the TypeScript (whose table is checked against these by a test).

/// Invalid frame sequence (e.g. a second `hello`).
pub const SEQUENCE: u16 = 4000;
/// Missing or wrong credentials (or no `hello` within 10 s, or credentials revoked).
pub const UNAUTHORIZED: u16 = 4001;
/// No permission for this topic.
pub const FORBIDDEN: u16 = 4003;
/// The channel or topic was deleted.
pub const DELETED: u16 = 4004;
/// The consumer was silent for twice its heartbeat interval.
pub const HEARTBEAT: u16 = 4008;
/// A frame over the size limit.
pub const TOO_LARGE: u16 = 4013;

/// Every close code with its name, for tables and tests.
pub const ALL: [(u16, &str); 6] = [
    (SEQUENCE, "sequence"),
    (UNAUTHORIZED, "unauthorized"),
    (FORBIDDEN, "forbidden"),
    (DELETED, "deleted"),
    (HEARTBEAT, "heartbeat"),
    (TOO_LARGE, "too_large"),
];

/// Whether a client must not reconnect after this close (it would be refused again).
pub fn is_final(code: u16) -> bool {
    matches!(code, UNAUTHORIZED | FORBIDDEN | DELETED)
}
