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
