//! Errors the core refuses an operation with. Each has a stable contract code; the edge
//! turns them into HTTP statuses or `error` frames. A refused operation changes nothing.

use crate::proto::{ApiError, ErrorCode};

/// Why the core refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The message is not in flight to this consumer.
    #[error("message {0} is not in flight to this consumer")]
    NotInFlight(String),
    /// No channel of that name.
    #[error("no channel {0:?} on this topic")]
    NoSuchChannel(String),
    /// No consumer with that id (it was closed).
    #[error("this consumer is closed")]
    NoSuchConsumer,
    /// Checkpoint over the limit.
    #[error("checkpoint is {size} bytes; the limit is {limit}")]
    CheckpointTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Delay over the limit.
    #[error("delay_ms must be at most {0}")]
    DelayTooLong(u64),
    /// The topic holds its maximum number of events.
    #[error("topic holds {0} events, its limit; finish or delete some first")]
    StorageFull(u64),
}

impl CoreError {
    /// The contract code.
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::NotInFlight(_) | CoreError::NoSuchChannel(_) | CoreError::NoSuchConsumer => {
                ErrorCode::NotFound
            }
            CoreError::CheckpointTooLarge { .. } => ErrorCode::PayloadTooLarge,
            CoreError::DelayTooLong(_) => ErrorCode::InvalidRequest,
            CoreError::StorageFull(_) => ErrorCode::StorageFull,
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}
