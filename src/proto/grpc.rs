//! gRPC-Web and Connect publish (`proto/ismld/v1/bus.proto`): the generated types, the
//! mapping from the CloudEvents Protobuf format to the JSON format, and the protocols'
//! framing and error rules. Pure: the front Worker does the I/O.
//!
//! A call becomes an ordinary publish (a structured event or a batch, with the
//! `ordering_key` and `delay_ms` overrides), so every rule of the JSON API holds as is.
//! Plain gRPC (`application/grpc`) needs HTTP/2 trailers, which a Worker cannot send; use
//! gRPC-Web or Connect, which every official client speaks.

use super::event::{is_json_media_type, media_type};
use super::http::{BatchPublished, Published};
use super::ErrorCode;
use base64::Engine as _;

use serde_json::{Map, Value};

pub use super::grpc_status::{invalid, Code, RpcError};

/// Types generated from `proto/ismld/v1/bus.proto` (prost + pbjson).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/ismld.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/ismld.v1.serde.rs"));
}

use v1::cloud_event::cloud_event_attribute_value::Attr;
use v1::cloud_event::Data;

/// The service's path prefix.
pub const SERVICE: &str = "ismld.v1.BusService";

/// A method of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `Publish`
    Publish,
    /// `PublishBatch`
    PublishBatch,
}

impl Method {
    /// The method named by the last path segment.
    pub fn parse(name: &str) -> Option<Method> {
        match name {
            "Publish" => Some(Method::Publish),
            "PublishBatch" => Some(Method::PublishBatch),
            _ => None,
        }
    }
}

/// The wire protocol of a call, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Connect unary: `application/proto` or `application/json`.
    Connect {
        /// JSON (proto3 JSON mapping) rather than binary protobuf.
        json: bool,
    },
    /// gRPC-Web: `application/grpc-web`, `+proto` or `+json`, enveloped messages.
    GrpcWeb {
        /// JSON rather than binary protobuf.
        json: bool,
    },
}

impl Protocol {
    /// Reads `Content-Type`; `None` for anything this server does not speak.
    pub fn from_content_type(content_type: &str) -> Option<Protocol> {
        match media_type(content_type).as_str() {
            "application/proto" | "application/protobuf" => Some(Protocol::Connect { json: false }),
            "application/json" => Some(Protocol::Connect { json: true }),
            "application/grpc-web" | "application/grpc-web+proto" => Some(Protocol::GrpcWeb { json: false }),
            "application/grpc-web+json" => Some(Protocol::GrpcWeb { json: true }),
            _ => None,
        }
    }

    fn json(self) -> bool {
        match self {
            Protocol::Connect { json } | Protocol::GrpcWeb { json } => json,
        }
    }

    /// The `Content-Type` of answers.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::Connect { json: true } => "application/json",
            Protocol::Connect { json: false } => "application/proto",
            Protocol::GrpcWeb { json: true } => "application/grpc-web+json",
            Protocol::GrpcWeb { json: false } => "application/grpc-web+proto",
        }
    }
}

/// A call, read and turned into an ordinary publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Topic name as sent (checked by the caller with the name grammar).
    pub topic: String,
    /// The body of the publish: a structured event, or a JSON array for a batch.
    pub body: String,
    /// Whether `body` is a batch.
    pub batch: bool,
    /// `ordering_key` override.
    pub ordering_key: Option<String>,
    /// `delay_ms` override.
    pub delay_ms: Option<u64>,
}

/// gRPC-Web: the first message of an enveloped body (flags 0: uncompressed).
fn unframe(body: &[u8]) -> Result<&[u8], RpcError> {
    let (head, rest) =
        body.split_at_checked(5).ok_or_else(|| invalid("gRPC-Web body is shorter than one envelope"))?;
    if head[0] != 0 {
        return Err(RpcError {
            code: Code::Unimplemented,
            message: "compressed gRPC-Web messages are not supported".into(),
            api: ErrorCode::InvalidRequest,
        });
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    rest.get(..len).ok_or_else(|| invalid("gRPC-Web envelope is cut short"))
}

/// One gRPC-Web envelope.
fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(flags);
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend(payload);
    out
}

fn decode_message<M: prost::Message + Default + serde::de::DeserializeOwned>(
    protocol: Protocol,
    body: &[u8],
) -> Result<M, RpcError> {
    let payload = match protocol {
        Protocol::GrpcWeb { .. } => unframe(body)?,
        Protocol::Connect { .. } => body,
    };
    if protocol.json() {
        crate::proto::from_json_bytes(payload).map_err(|e| invalid(format!("bad JSON message: {e}")))
    } else {
        M::decode(payload).map_err(|e| invalid(format!("bad protobuf message: {e}")))
    }
}

/// The `topic` of a request message (field 1 of both requests) and how many events it
/// carries (field 2 of a batch), read without decoding the rest: the Worker checks the
/// permission and the batch limit before it builds the message.
pub fn peek_topic(protocol: Protocol, body: &[u8]) -> Result<(String, usize), RpcError> {
    let payload = match protocol {
        Protocol::GrpcWeb { .. } => unframe(body)?,
        Protocol::Connect { .. } => body,
    };
    if protocol.json() {
        #[derive(serde::Deserialize)]
        struct Peek {
            #[serde(default)]
            topic: String,
            // Zero-sized items: counting costs no memory per event.
            #[serde(default)]
            events: Option<Vec<serde::de::IgnoredAny>>,
        }
        return crate::proto::from_json_bytes::<Peek>(payload)
            .map(|t| (t.topic, t.events.map_or(0, |e| e.len())))
            .map_err(|e| invalid(format!("bad JSON message: {e}")));
    }
    // The whole message is scanned: a field given twice takes its last value, as the
    // decoder does (found by the connect_body fuzz target).
    let mut buf = payload;
    let (mut topic, mut events) = (String::new(), 0usize);
    while !buf.is_empty() {
        let (tag, wire) = prost::encoding::decode_key(&mut buf)
            .map_err(|e| invalid(format!("bad protobuf message: {e}")))?;
        if tag == 1 && wire == prost::encoding::WireType::LengthDelimited {
            topic.clear();
            prost::encoding::string::merge(wire, &mut topic, &mut buf, Default::default())
                .map_err(|e| invalid(format!("bad protobuf message: {e}")))?;
            continue;
        }
        if tag == 2 && wire == prost::encoding::WireType::LengthDelimited {
            events += 1;
        }
        prost::encoding::skip_field(wire, tag, &mut buf, Default::default())
            .map_err(|e| invalid(format!("bad protobuf message: {e}")))?;
    }
    Ok((topic, events))
}

/// Reads a call's request message.
pub fn decode(method: Method, protocol: Protocol, body: &[u8]) -> Result<Call, RpcError> {
    let key = |k: String| Some(k).filter(|k| !k.is_empty());
    let delay = |d: u64| Some(d).filter(|d| *d > 0);
    match method {
        Method::Publish => {
            let r: v1::PublishRequest = decode_message(protocol, body)?;
            let event = r.event.ok_or_else(|| invalid("event is required"))?;
            Ok(Call {
                topic: r.topic,
                body: event_json(event)?.to_string(),
                batch: false,
                ordering_key: key(r.ordering_key),
                delay_ms: delay(r.delay_ms),
            })
        }
        Method::PublishBatch => {
            let r: v1::PublishBatchRequest = decode_message(protocol, body)?;
            let events = r.events.into_iter().map(event_json).collect::<Result<Vec<_>, _>>()?;
            Ok(Call {
                topic: r.topic,
                body: Value::Array(events).to_string(),
                batch: true,
                ordering_key: key(r.ordering_key),
                delay_ms: delay(r.delay_ms),
            })
        }
    }
}

fn timestamp(t: &pbjson_types::Timestamp) -> Result<String, RpcError> {
    let nanos = u32::try_from(t.nanos).map_err(|_| invalid("timestamp nanos out of range"))?;
    chrono::DateTime::from_timestamp(t.seconds, nanos)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .ok_or_else(|| invalid("timestamp out of range"))
}

/// A CloudEvent in the Protobuf format as a JSON-format event.
pub fn event_json(e: v1::CloudEvent) -> Result<Value, RpcError> {
    let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    let mut out = Map::new();
    let spec = if e.spec_version.is_empty() { "1.0".to_owned() } else { e.spec_version };
    out.insert("specversion".into(), spec.into());
    out.insert("id".into(), e.id.into());
    out.insert("source".into(), e.source.into());
    out.insert("type".into(), e.r#type.into());
    for (name, value) in e.attributes {
        if ["specversion", "id", "source", "type", "data", "data_base64"].contains(&name.as_str()) {
            return Err(invalid(format!("attribute {name} may not be set in attributes")));
        }
        let v = match value.attr {
            Some(Attr::CeBoolean(b)) => Value::Bool(b),
            Some(Attr::CeInteger(i)) => Value::from(i),
            Some(Attr::CeString(s) | Attr::CeUri(s) | Attr::CeUriRef(s)) => Value::String(s),
            Some(Attr::CeBytes(b)) => b64(&b),
            Some(Attr::CeTimestamp(t)) => Value::String(timestamp(&t)?),
            None => return Err(invalid(format!("attribute {name} has no value"))),
        };
        out.insert(name, v);
    }
    let content_type = out.get("datacontenttype").and_then(Value::as_str).map(media_type);
    match e.data {
        None => {}
        Some(Data::BinaryData(b)) => {
            out.insert("data_base64".into(), b64(&b));
        }
        Some(Data::TextData(t)) if content_type.as_deref().is_some_and(is_json_media_type) => {
            let v: Value = serde_json::from_str(&t)
                .map_err(|e| invalid(format!("text_data is not the JSON its datacontenttype says: {e}")))?;
            out.insert("data".into(), v);
        }
        Some(Data::TextData(t)) => {
            out.insert("data".into(), Value::String(t));
        }
        Some(Data::ProtoData(any)) => {
            out.entry("datacontenttype").or_insert_with(|| "application/protobuf".into());
            if !any.type_url.is_empty() {
                out.entry("dataschema").or_insert_with(|| any.type_url.clone().into());
            }
            out.insert("data_base64".into(), b64(&any.value));
        }
    }
    Ok(Value::Object(out))
}

fn encode_message<M: prost::Message + serde::Serialize>(protocol: Protocol, m: &M) -> Vec<u8> {
    let payload = if protocol.json() { serde_json::to_vec(m).unwrap_or_default() } else { m.encode_to_vec() };
    match protocol {
        Protocol::Connect { .. } => payload,
        Protocol::GrpcWeb { .. } => {
            let mut out = frame(0, &payload);
            out.extend(frame(0x80, b"grpc-status: 0\r\ngrpc-message: \r\n"));
            out
        }
    }
}

/// The answer to a call whose publish answered `201` with `published` (the JSON API's
/// answer body).
pub fn encode_answer(method: Method, protocol: Protocol, published: &str) -> Result<Vec<u8>, RpcError> {
    let internal = |e: serde_json::Error| RpcError {
        code: Code::Internal,
        message: format!("unexpected publish answer: {e}"),
        api: ErrorCode::Internal,
    };
    Ok(match method {
        Method::Publish => {
            let p: Published = serde_json::from_str(published).map_err(internal)?;
            encode_message(
                protocol,
                &v1::PublishResponse {
                    topic: p.topic,
                    id: p.id,
                    seq: p.seq,
                    duplicate: p.duplicate,
                    partition: p.partition,
                },
            )
        }
        Method::PublishBatch => {
            let p: BatchPublished = serde_json::from_str(published).map_err(internal)?;
            let results = p
                .results
                .into_iter()
                .map(|r| v1::PublishResult {
                    id: r.id,
                    seq: r.seq,
                    duplicate: r.duplicate,
                    partition: r.partition,
                })
                .collect();
            encode_message(protocol, &v1::PublishBatchResponse { topic: p.topic, results })
        }
    })
}

/// An error answer: (HTTP status, content type, body, extra headers).
pub fn encode_error(
    protocol: Protocol,
    e: &RpcError,
) -> (u16, &'static str, Vec<u8>, Vec<(&'static str, String)>) {
    let mut headers = vec![("ismld-error-code", e.api.as_str().to_owned())];
    match protocol {
        Protocol::Connect { .. } => {
            let body = serde_json::json!({ "code": e.code.as_str(), "message": e.message }).to_string();
            (e.code.http_status(), "application/json", body.into_bytes(), headers)
        }
        Protocol::GrpcWeb { .. } => {
            let message = grpc_message(&e.message);
            let trailer = format!("grpc-status: {}\r\ngrpc-message: {}\r\n", e.code.number(), message);
            headers.push(("grpc-status", e.code.number().to_string()));
            headers.push(("grpc-message", message));
            (200, protocol.content_type(), frame(0x80, trailer.as_bytes()), headers)
        }
    }
}

/// gRPC's `grpc-message` encoding: percent-encode everything outside printable ASCII
/// and `%` itself.
fn grpc_message(m: &str) -> String {
    let mut out = String::with_capacity(m.len());
    for b in m.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "grpc_tests.rs"]
mod tests;
