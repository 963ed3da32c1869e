//! The status codes and errors of gRPC-Web and Connect calls (`grpc.rs`): one code set
//! for both protocols, and the mapping from the contract's error codes.

use super::{ApiError, ErrorCode};

/// A status code shared by gRPC and Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 3
    InvalidArgument,
    /// 4
    DeadlineExceeded,
    /// 5
    NotFound,
    /// 6
    AlreadyExists,
    /// 7
    PermissionDenied,
    /// 8
    ResourceExhausted,
    /// 12
    Unimplemented,
    /// 13
    Internal,
    /// 14
    Unavailable,
    /// 16
    Unauthenticated,
}

impl Code {
    /// Every code the service answers with (the wire reference, `docs/PROTOCOL.md`, is
    /// tested against this list).
    pub const ALL: [Code; 10] = [
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::Unauthenticated,
    ];

    /// Connect's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidArgument => "invalid_argument",
            Code::DeadlineExceeded => "deadline_exceeded",
            Code::NotFound => "not_found",
            Code::AlreadyExists => "already_exists",
            Code::PermissionDenied => "permission_denied",
            Code::ResourceExhausted => "resource_exhausted",
            Code::Unimplemented => "unimplemented",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
            Code::Unauthenticated => "unauthenticated",
        }
    }

    /// gRPC's number.
    pub fn number(self) -> u8 {
        match self {
            Code::InvalidArgument => 3,
            Code::DeadlineExceeded => 4,
            Code::NotFound => 5,
            Code::AlreadyExists => 6,
            Code::PermissionDenied => 7,
            Code::ResourceExhausted => 8,
            Code::Unimplemented => 12,
            Code::Internal => 13,
            Code::Unavailable => 14,
            Code::Unauthenticated => 16,
        }
    }

    /// The HTTP status of a Connect error.
    pub fn http_status(self) -> u16 {
        match self {
            Code::InvalidArgument => 400,
            Code::DeadlineExceeded => 504,
            Code::NotFound => 404,
            Code::AlreadyExists => 409,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::Unimplemented => 501,
            Code::Internal => 500,
            Code::Unavailable => 503,
            Code::Unauthenticated => 401,
        }
    }
}

/// An RPC error: a code, a message, and the contract's error code it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// gRPC/Connect code.
    pub code: Code,
    /// Human text.
    pub message: String,
    /// The contract's code (sent as the `ismld-error-code` header).
    pub api: ErrorCode,
}

impl From<ApiError> for RpcError {
    fn from(e: ApiError) -> Self {
        let code = match e.code {
            ErrorCode::InvalidRequest | ErrorCode::InvalidName | ErrorCode::UnsupportedMediaType => {
                Code::InvalidArgument
            }
            ErrorCode::Unauthorized => Code::Unauthenticated,
            ErrorCode::Forbidden => Code::PermissionDenied,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::Conflict => Code::AlreadyExists,
            ErrorCode::PayloadTooLarge | ErrorCode::StorageFull => Code::ResourceExhausted,
            ErrorCode::Timeout => Code::DeadlineExceeded,
            ErrorCode::Internal => Code::Internal,
            ErrorCode::Unavailable => Code::Unavailable,
        };
        RpcError { code, message: e.message, api: e.code }
    }
}

/// An `invalid_argument` error (the contract's `invalid_request`).
pub fn invalid(message: impl Into<String>) -> RpcError {
    ApiError::invalid(message).into()
}
