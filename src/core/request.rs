//! What an HTTP operation on a topic brings in ([`TopicRequest`]) and gets back
//! ([`Answer`]), and the decoding of its query and body, done before anything is looked
//! up so bad input is a `400` that changes nothing.

use super::publish::PublishOptions;
use super::{Millis, Seq};
use crate::proto::event::{self, parse_rfc3339};
use crate::proto::http::{Pull, Redrive, Seek, SettleBody};
use crate::proto::nsq::Framing;
use crate::proto::route::{ChannelOp, Route, TopicOp};
use crate::proto::{ApiError, ChannelName, ErrorCode, Limits, TopicName};
use serde::de::DeserializeOwned;

/// Default and longest wait of a request for its response.
pub const REQUEST_TIMEOUT_MS: (u64, u64) = (30_000, 300_000);
/// A dead-letter listing stops at about this many bytes (a `cursor` continues it).
pub const DEAD_PAGE_BYTES: usize = 4 << 20;

/// Which operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// A topic operation.
    Topic(TopicOp),
    /// A channel operation.
    Channel(ChannelName, ChannelOp),
}

impl Operation {
    /// The topic and operation of a request's method and path (`404` for a route that is
    /// not a topic's: the front Worker answers those itself).
    pub fn parse(method: &str, path: &str) -> Result<(TopicName, Operation), ApiError> {
        match Route::parse(method, path)? {
            Route::Topic(t, op) => Ok((t, Operation::Topic(op))),
            Route::Channel(t, c, op) => Ok((t, Operation::Channel(c, op))),
            _ => Err(ApiError::new(ErrorCode::NotFound, "not a topic route")),
        }
    }
}

/// One HTTP operation on the topic.
#[derive(Debug, Clone)]
pub struct TopicRequest<'a> {
    /// The topic.
    pub topic: &'a TopicName,
    /// The operation.
    pub op: Operation,
    /// Query parameters, decoded.
    pub query: &'a [(String, String)],
    /// Request headers (binary-mode publishes read `ce-*`).
    pub headers: &'a [(String, String)],
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The body, read within its cap.
    pub body: &'a [u8],
    /// The caller's event source (`/clients/{login}`, `/anonymous`, `/admin`, `/memory`).
    pub source: &'a str,
    /// An NSQ `/pub` or `/mpub` body relayed by the front Worker.
    pub nsq: Option<Framing>,
    /// Fresh random bytes, for the ids of events the bus makes.
    pub entropy: [u8; 16],
    /// The partition the front Worker routed this to (`PUT /v1/topics/{topic}` makes it).
    pub routed: super::Partition,
}

/// The answer to an HTTP operation. Serialized (`{"await": "done", "status", "body"}`,
/// `{"await": "response", ...}`, `{"await": "pull", ...}`) for the TypeScript half of
/// `memory://`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "await", rename_all = "snake_case")]
pub enum Answer {
    /// Answered: a status and a JSON body (empty for 204).
    Done {
        /// Status.
        status: u16,
        /// Body.
        body: String,
    },
    /// A request was published: wait up to `timeout_ms` for [`Output::Response`] with
    /// `seq`, else answer [`Answer::request_timeout`].
    #[serde(rename = "response")]
    AwaitResponse {
        /// The request event's seq.
        seq: Seq,
        /// Its message id.
        id: String,
        /// How long to wait.
        timeout_ms: u64,
    },
    /// A pull waits for messages: up to `wait_ms` for [`Output::PullReady`] with
    /// `waiter`, else [`Broker::pull_expired`].
    #[serde(rename = "pull")]
    AwaitPull {
        /// The waiting pull.
        waiter: u64,
        /// How long to wait.
        wait_ms: u64,
    },
}

impl Answer {
    /// A JSON answer.
    pub fn json<T: serde::Serialize>(status: u16, body: &T) -> Answer {
        match serde_json::to_string(body) {
            Ok(body) => Answer::Done { status, body },
            Err(_) => Answer::error(&ApiError::new(ErrorCode::Internal, "internal error")),
        }
    }

    /// The contract's error answer.
    pub fn error(e: &ApiError) -> Answer {
        Answer::Done { status: e.code.http_status(), body: e.to_body() }
    }

    /// The `504` of a request nobody answered in time.
    pub fn request_timeout(id: &str, timeout_ms: u64) -> Answer {
        Answer::error(&ApiError::new(
            ErrorCode::Timeout,
            format!("no response within {timeout_ms} ms; the request event {id} stays published"),
        ))
    }
}

pub(super) fn json_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    crate::proto::from_json_bytes(body).map_err(|e| ApiError::invalid(format!("bad body: {e}")))
}

pub(super) fn query_u64(query: &[(String, String)], name: &str) -> Result<Option<u64>, ApiError> {
    match query.iter().find(|(k, _)| k == name) {
        Some((_, v)) => {
            v.parse().map(Some).map_err(|_| ApiError::invalid(format!("{name} must be a whole number")))
        }
        None => Ok(None),
    }
}

/// `ordering_key`, `delay_ms` and `ttl_ms` query parameters.
pub(super) fn options(query: &[(String, String)], reply: bool) -> Result<PublishOptions, ApiError> {
    let ordering_key = query.iter().find(|(k, _)| k == "ordering_key").map(|(_, v)| v.clone());
    event::check_ordering_key(ordering_key.as_deref())?;
    Ok(PublishOptions {
        ordering_key: ordering_key.filter(|k| !k.is_empty()),
        delay_ms: query_u64(query, "delay_ms")?,
        ttl_ms: query_u64(query, "ttl_ms")?,
        reply,
    })
}

/// Where a `seek` goes.
pub(super) enum SeekTo {
    /// A seq, and the partition the body named (if any).
    Seq(Seq, Option<u32>),
    Time(Millis),
}

pub(super) fn seek_target(body: &[u8]) -> Result<SeekTo, ApiError> {
    let body: Seek = json_body(body)?;
    match (body.seq, body.time.as_deref()) {
        (Some(seq), None) => Ok(SeekTo::Seq(seq, body.partition)),
        (None, Some(t)) => parse_rfc3339(t)
            .map(SeekTo::Time)
            .ok_or_else(|| ApiError::invalid("time must be an RFC 3339 time")),
        _ => Err(ApiError::invalid("seek takes exactly one of \"seq\" and \"time\"")),
    }
}

/// A decoded channel operation body.
pub(super) enum Input {
    None,
    Seek(SeekTo),
    Redrive(Redrive),
    Pull(crate::proto::http::PullParams),
    Settle(SettleBody),
    Dead((usize, Seq)),
}

/// `?limit=` (1..=1,000, default 100) and `?cursor=` of a dead-letter listing.
pub(super) fn dead_query(query: &[(String, String)], partition: u32) -> Result<(usize, Seq), ApiError> {
    let limit = query_u64(query, "limit")?.unwrap_or(100).clamp(1, 1000) as usize;
    let after = match query.iter().find(|(k, _)| k == "cursor") {
        Some((_, c)) => crate::proto::id::parse_message_id(c)
            .filter(|(p, _)| *p == partition)
            .map(|(_, s)| s)
            .ok_or_else(|| ApiError::invalid("cursor must be a message id from a previous listing"))?,
        None => 0,
    };
    Ok((limit, after))
}

/// Decodes a channel operation's input.
pub(super) fn channel_input(
    op: ChannelOp,
    req: &TopicRequest<'_>,
    limits: &Limits,
    partition: u32,
) -> Result<Input, ApiError> {
    Ok(match op {
        ChannelOp::Seek => Input::Seek(seek_target(req.body)?),
        ChannelOp::Redrive => Input::Redrive(json_body(req.body)?),
        ChannelOp::Pull => Input::Pull(json_body::<Pull>(req.body)?.check(limits)?),
        ChannelOp::Settle => Input::Settle(json_body(req.body)?),
        ChannelOp::Dead => Input::Dead(dead_query(req.query, partition)?),
        ChannelOp::Peek => {
            Input::Dead((query_u64(req.query, "limit")?.unwrap_or(10).clamp(1, 100) as usize, 0))
        }
        _ => Input::None,
    })
}
