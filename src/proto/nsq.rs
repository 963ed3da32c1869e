//! NSQ-compatible publishing (`docs/PROTOCOL.md`, "NSQ-compatible endpoints"): nsqd's
//! `/pub` and `/mpub` query parameters, body framings and answers, so an NSQ HTTP
//! publisher works unchanged.
//!
//! Answers follow nsqd's v1 HTTP API: `200 OK` (text) on success, and on failure nsqd's
//! status and `{"message": "<NSQ_CODE>"}`. The error body also carries the contract's
//! `"error": {"code", "message"}`, so a client of either reads it.

use super::event::media_type;
use super::{ApiError, ErrorCode, Limits, TopicName};

/// Header from the front Worker to the topic object naming the framing of an NSQ body.
pub const FRAMING_HEADER: &str = "x-ismld-nsq";

/// How an NSQ body holds its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `/pub`: the whole body is one message.
    One,
    /// `/mpub`: newline-separated messages (empty lines are skipped, as nsqd does).
    Lines,
    /// `/mpub?binary=true`: a big-endian u32 count, then per message a u32 size and bytes.
    Binary,
}

impl Framing {
    /// The value of [`FRAMING_HEADER`].
    pub fn as_str(self) -> &'static str {
        match self {
            Framing::One => "pub",
            Framing::Lines => "mpub",
            Framing::Binary => "mpub-binary",
        }
    }

    /// Reads [`FRAMING_HEADER`].
    pub fn parse(s: &str) -> Option<Framing> {
        [Framing::One, Framing::Lines, Framing::Binary].into_iter().find(|f| f.as_str() == s)
    }
}

/// An error in nsqd's form: its status and upper-case code, plus the contract's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsqError {
    /// HTTP status.
    pub status: u16,
    /// nsqd's code, e.g. `MSG_TOO_BIG`.
    pub nsq: &'static str,
    /// The contract's error.
    pub error: ApiError,
}

impl NsqError {
    fn new(status: u16, nsq: &'static str, code: ErrorCode, message: impl Into<String>) -> Self {
        NsqError { status, nsq, error: ApiError::new(code, message) }
    }

    /// Maps a contract error met while publishing (`mpub`: the body held several messages).
    pub fn from_api(e: ApiError, mpub: bool) -> Self {
        let (status, nsq) = match e.code {
            ErrorCode::InvalidName => (400, "INVALID_TOPIC"),
            ErrorCode::InvalidRequest => (400, "BAD_MESSAGE"),
            ErrorCode::PayloadTooLarge if mpub => (413, "BODY_TOO_BIG"),
            ErrorCode::PayloadTooLarge => (413, "MSG_TOO_BIG"),
            ErrorCode::Unauthorized => (401, "UNAUTHORIZED"),
            ErrorCode::Forbidden => (403, "FORBIDDEN"),
            ErrorCode::NotFound => (404, "NOT_FOUND"),
            ErrorCode::Conflict => (409, "CONFLICT"),
            ErrorCode::UnsupportedMediaType => (415, "UNSUPPORTED_MEDIA_TYPE"),
            ErrorCode::StorageFull => (507, "STORAGE_FULL"),
            ErrorCode::Timeout => (504, "TIMEOUT"),
            ErrorCode::Internal => (500, "INTERNAL_ERROR"),
            ErrorCode::Unavailable => (503, "UNAVAILABLE"),
        };
        NsqError { status, nsq, error: e }
    }

    /// `{"message": "<NSQ_CODE>", "error": {"code", "message"}}`.
    pub fn to_body(&self) -> String {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            message: &'a str,
            error: &'a ApiError,
        }
        serde_json::to_string(&Body { message: self.nsq, error: &self.error })
            .unwrap_or_else(|_| format!(r#"{{"message":"{}"}}"#, self.nsq))
    }
}

/// What a `/pub` or `/mpub` query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsqPublish {
    /// `topic`.
    pub topic: TopicName,
    /// From the path and `binary`.
    pub framing: Framing,
    /// `defer` (`/pub` only), in ms.
    pub delay_ms: Option<u64>,
}

/// Reads the query of `/pub` (`mpub` false) or `/mpub`, in nsqd's order of checks.
pub fn parse_query<'a>(
    mpub: bool,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    limits: &Limits,
) -> Result<NsqPublish, NsqError> {
    let mut topic = None;
    let mut defer = None;
    let mut binary = None;
    for (k, v) in pairs {
        match k {
            "topic" if topic.is_none() => topic = Some(v),
            "defer" if defer.is_none() => defer = Some(v),
            "binary" if binary.is_none() => binary = Some(v),
            _ => {}
        }
    }
    let Some(topic) = topic else {
        return Err(NsqError::new(
            400,
            "MISSING_ARG_TOPIC",
            ErrorCode::InvalidRequest,
            "the topic parameter is missing",
        ));
    };
    let topic =
        TopicName::parse(topic).map_err(|e| NsqError::new(400, "INVALID_TOPIC", e.code, e.message))?;
    let framing = match (mpub, binary) {
        (false, _) => Framing::One,
        // nsqd: text is the default; an unrecognized value counts as true.
        (true, Some("false" | "0" | "f" | "F" | "FALSE" | "False")) | (true, None) => Framing::Lines,
        (true, Some(_)) => Framing::Binary,
    };
    let delay_ms = match defer.filter(|_| !mpub) {
        None => None,
        Some(d) => match d.parse::<i64>() {
            Ok(ms) if ms >= 0 && ms as u64 <= limits.max_delay_ms => Some(ms as u64),
            _ => {
                return Err(NsqError::new(
                    400,
                    "INVALID_DEFER",
                    ErrorCode::InvalidRequest,
                    format!("defer must be a whole number of ms in 0..={}", limits.max_delay_ms),
                ))
            }
        },
    };
    Ok(NsqPublish { topic, framing, delay_ms })
}

fn too_big(nsq: &'static str, what: &str, len: usize, limit: usize) -> NsqError {
    NsqError::new(
        413,
        nsq,
        ErrorCode::PayloadTooLarge,
        format!("{what} is {len} bytes; the limit is {limit}"),
    )
}

/// Splits a body into its messages, checking them as nsqd does (plus the contract's batch
/// limits). Never returns an empty message; may return no message (an `/mpub` of empty
/// lines, which nsqd accepts and ignores).
pub fn split<'a>(framing: Framing, body: &'a [u8], limits: &Limits) -> Result<Vec<&'a [u8]>, NsqError> {
    let (max_msg, max_body) = (limits.max_event_bytes, limits.max_batch_bytes);
    let messages: Vec<&[u8]> = match framing {
        Framing::One => {
            if body.len() > max_msg {
                return Err(too_big("MSG_TOO_BIG", "the message", body.len(), max_msg));
            }
            if body.is_empty() {
                return Err(NsqError::new(
                    400,
                    "MSG_EMPTY",
                    ErrorCode::InvalidRequest,
                    "the message is empty",
                ));
            }
            vec![body]
        }
        Framing::Lines => {
            if body.len() > max_body {
                return Err(too_big("BODY_TOO_BIG", "the body", body.len(), max_body));
            }
            let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
            if let Some(l) = lines.iter().find(|l| l.len() > max_msg) {
                return Err(too_big("MSG_TOO_BIG", "a message", l.len(), max_msg));
            }
            lines
        }
        Framing::Binary => {
            if body.len() > max_body {
                return Err(too_big("BODY_TOO_BIG", "the body", body.len(), max_body));
            }
            binary(body, max_msg, max_body)?
        }
    };
    if messages.len() > limits.max_batch_events {
        return Err(NsqError::new(
            413,
            "BODY_TOO_BIG",
            ErrorCode::PayloadTooLarge,
            format!("{} messages; the limit is {}", messages.len(), limits.max_batch_events),
        ));
    }
    Ok(messages)
}

fn binary(body: &[u8], max_msg: usize, max_body: usize) -> Result<Vec<&[u8]>, NsqError> {
    let bad = |nsq: &'static str, m: String| NsqError::new(413, nsq, ErrorCode::InvalidRequest, m);
    let read_len = |at: usize| -> Option<i32> {
        body.get(at..at + 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = read_len(0).ok_or_else(|| bad("BAD_BODY", "MPUB failed to read message count".into()))?;
    if count <= 0 || count as usize > max_body.saturating_sub(4) / 5 {
        return Err(bad("BAD_BODY", format!("MPUB invalid message count {count}")));
    }
    let mut at = 4;
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let size = read_len(at)
            .ok_or_else(|| bad("BAD_MESSAGE", format!("MPUB failed to read message({i}) body size")))?;
        if size <= 0 {
            return Err(bad("BAD_MESSAGE", format!("MPUB invalid message({i}) body size {size}")));
        }
        if size as usize > max_msg {
            return Err(bad("BAD_MESSAGE", format!("MPUB message too big {size} > {max_msg}")));
        }
        at += 4;
        let msg = body
            .get(at..at + size as usize)
            .ok_or_else(|| bad("BAD_MESSAGE", "MPUB failed to read message body".into()))?;
        out.push(msg);
        at += size as usize;
    }
    Ok(out)
}

/// The content type given to each message's event. nsqd ignores `Content-Type`, and
/// `curl -d` sends `application/x-www-form-urlencoded`, so only a type that says something
/// about the messages (e.g. `application/json`) is kept; otherwise UTF-8 messages become
/// text data and others `application/octet-stream` (`data_base64`).
pub fn message_type<'a>(declared: Option<&'a str>, message: &[u8]) -> Option<&'a str> {
    let media = declared.map(media_type).unwrap_or_default();
    let meaningless = media.is_empty()
        || media == "application/x-www-form-urlencoded"
        || media == "application/octet-stream"
        || media.starts_with("application/cloudevents");
    match (meaningless, std::str::from_utf8(message).is_ok()) {
        (false, _) => declared,
        (true, true) => None,
        (true, false) => Some("application/octet-stream"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(mpub: bool, s: &str) -> Result<NsqPublish, NsqError> {
        parse_query(mpub, s.split('&').filter_map(|p| p.split_once('=')), &Limits::default())
    }

    #[test]
    fn query_checks_follow_nsqd() {
        assert_eq!(q(false, "x=1").unwrap_err().nsq, "MISSING_ARG_TOPIC");
        assert_eq!(q(false, "topic=a@b").unwrap_err().nsq, "INVALID_TOPIC");
        assert_eq!(q(false, "topic=t&defer=-1").unwrap_err().nsq, "INVALID_DEFER");
        assert_eq!(q(false, "topic=t&defer=x").unwrap_err().nsq, "INVALID_DEFER");
        assert_eq!(q(false, "topic=t&defer=1500").unwrap().delay_ms, Some(1500));
        assert_eq!(q(true, "topic=t").unwrap().framing, Framing::Lines);
        assert_eq!(q(true, "topic=t&binary=false").unwrap().framing, Framing::Lines);
        assert_eq!(q(true, "topic=t&binary=true").unwrap().framing, Framing::Binary);
        assert_eq!(q(true, "topic=t&binary=yes").unwrap().framing, Framing::Binary);
    }

    #[test]
    fn splits_lines_and_binary_frames() {
        let l = Limits::default();
        assert_eq!(split(Framing::Lines, b"a\n\nbc\n", &l).unwrap(), vec![&b"a"[..], b"bc"]);
        let mut body = 2i32.to_be_bytes().to_vec();
        for m in [&b"x\n"[..], b"yz"] {
            body.extend((m.len() as i32).to_be_bytes());
            body.extend(m);
        }
        assert_eq!(split(Framing::Binary, &body, &l).unwrap(), vec![&b"x\n"[..], b"yz"]);
        assert_eq!(split(Framing::Binary, &body[..body.len() - 1], &l).unwrap_err().nsq, "BAD_MESSAGE");
        assert_eq!(split(Framing::Binary, &0i32.to_be_bytes(), &l).unwrap_err().nsq, "BAD_BODY");
        assert_eq!(split(Framing::One, b"", &l).unwrap_err().nsq, "MSG_EMPTY");
        let small = Limits { max_event_bytes: 3, ..Limits::default() };
        assert_eq!(split(Framing::One, b"abcd", &small).unwrap_err().status, 413);
        assert_eq!(split(Framing::Lines, b"ab\nabcd", &small).unwrap_err().nsq, "MSG_TOO_BIG");
    }

    #[test]
    fn error_body_speaks_both_dialects() {
        let e = NsqError::from_api(ApiError::new(ErrorCode::PayloadTooLarge, "big"), true);
        assert_eq!(
            e.to_body(),
            r#"{"message":"BODY_TOO_BIG","error":{"code":"payload_too_large","message":"big"}}"#
        );
    }

    #[test]
    fn message_types() {
        assert_eq!(message_type(Some("application/x-www-form-urlencoded"), b"hi"), None);
        assert_eq!(message_type(None, &[0xff]), Some("application/octet-stream"));
        assert_eq!(message_type(Some("application/json"), b"{}"), Some("application/json"));
    }
}
