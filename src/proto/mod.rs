//! The wire: serde types for frames, HTTP bodies and CloudEvents; names; limits; error
//! codes. Shared by the Worker and the client so the two can never disagree.
//!
//! Owns no state and does no I/O. Time comes in as an argument (ms since the epoch).

pub mod attrs;
pub mod auth;
pub mod close;
pub mod codec;
pub mod error;
pub mod event;
pub mod fanout;
pub mod flat;
pub mod frame;
pub mod grpc;
pub mod grpc_status;
pub mod http;
pub mod id;
pub mod ijson;
pub mod limits;
pub mod metrics;
pub mod names;
pub mod nsq;
pub mod partition;
pub mod publish;
pub mod push;
pub mod response;
pub mod route;
pub mod server_frame;
pub mod server_message;

pub use error::{ApiError, ErrorCode};
pub use limits::Limits;
pub use names::{ChannelName, TopicName};

/// JSON read from bytes. Every read in the crate goes through `serde_json::from_str`, so
/// each type has one deserializer in the wasm, not one per reader (`from_slice` and
/// `from_str` are separate instantiations of every visitor: ~70 KB of the Worker before).
pub fn from_json_bytes<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(e) => Err(serde::de::Error::custom(format_args!("invalid UTF-8 at byte {}", e.valid_up_to()))),
    }
}

#[cfg(test)]
mod tests {
    use super::from_json_bytes;

    #[test]
    fn json_from_bytes_reads_like_from_slice_and_refuses_bad_utf8() {
        let raw: Vec<&serde_json::value::RawValue> = from_json_bytes(br#"[{"a":1}, "x"]"#).unwrap();
        assert_eq!(raw.iter().map(|r| r.get()).collect::<Vec<_>>(), [r#"{"a":1}"#, r#""x""#]);
        let err = from_json_bytes::<String>(b"\"a\xff\"").unwrap_err();
        assert_eq!(err.to_string(), "invalid UTF-8 at byte 2");
        assert!(from_json_bytes::<u8>(b"300").is_err());
    }
}
