//! The contract's error codes (`docs/PROTOCOL.md`, "Error codes") and the error body.
//!
//! Codes are stable machine strings; they become HTTP statuses and WebSocket close codes
//! only at the edge (`src/worker`).

use serde::{Deserialize, Serialize};

/// A machine-readable error code of the wire contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Bad JSON, a bad field, or a bad CloudEvent.
    InvalidRequest,
    /// A topic or channel name outside the name grammar.
    InvalidName,
    /// Missing or wrong credentials or token.
    Unauthorized,
    /// Authenticated, but without permission for this topic or operation.
    Forbidden,
    /// No such topic, channel, route or in-flight message.
    NotFound,
    /// The resource already exists or is in a conflicting state.
    Conflict,
    /// An event, batch, checkpoint or frame over its size limit.
    PayloadTooLarge,
    /// A content type the endpoint does not take.
    UnsupportedMediaType,
    /// The topic holds its maximum number of events.
    StorageFull,
    /// A request-response got no answer in time.
    Timeout,
    /// A bug or a storage failure on the server side.
    Internal,
    /// The server cannot take this now (e.g. too many sockets waiting for `hello`).
    Unavailable,
}

impl ErrorCode {
    /// Every code, for tables and tests (the TypeScript's table is checked against it).
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidName,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::StorageFull,
        ErrorCode::Timeout,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::StorageFull => "storage_full",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The HTTP status the contract pairs with this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest | ErrorCode::InvalidName => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::StorageFull => 507,
            ErrorCode::Timeout => 504,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}

/// An error as the contract shows it: a code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    /// The machine code.
    pub code: ErrorCode,
    /// Text for a person; never contains secrets.
    pub message: String,
}

impl ApiError {
    /// Makes an error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }

    /// Shorthand for `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// The HTTP body `{"error": {"code", "message"}}`.
    pub fn to_body(&self) -> String {
        serde_json::json!({ "error": self }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_contract_shape() {
        let e = ApiError::new(ErrorCode::StorageFull, "full");
        assert_eq!(e.to_body(), r#"{"error":{"code":"storage_full","message":"full"}}"#);
        assert_eq!(e.code.http_status(), 507);
    }
}
