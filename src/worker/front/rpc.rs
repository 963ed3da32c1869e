//! gRPC-Web and Connect publish in the front Worker (`POST /ismld.v1.BusService/{Method}`;
//! the wire rules are in [`crate::proto::grpc`]): authenticate, read the message, relay it
//! as an ordinary publish, and answer in the caller's protocol and encoding.

use super::auth::{forbidden, Access};
use super::forward::{self, Relayed};
use crate::proto::grpc::{self, Method, Protocol, RpcError};
use crate::proto::publish::{BATCH, STRUCTURED};
use crate::proto::{ApiError, ErrorCode, TopicName};
use crate::worker::http::now_ms;
use worker::{Env, Headers, Request, Response, Result};

fn answer(protocol: Protocol, body: Vec<u8>) -> Result<Response> {
    let h = Headers::new();
    h.set("content-type", protocol.content_type())?;
    Ok(Response::from_bytes(body)?.with_headers(h))
}

fn error(protocol: Protocol, e: RpcError) -> Result<Response> {
    let (status, content_type, body, extra) = grpc::encode_error(protocol, &e);
    let h = Headers::new();
    h.set("content-type", content_type)?;
    for (k, v) in extra {
        h.set(k, &v)?;
    }
    Ok(Response::from_bytes(body)?.with_status(status).with_headers(h))
}

/// Serves one call of `method`.
pub async fn serve(mut req: Request, env: &Env, access: &Access, method: Method) -> Result<Response> {
    let content_type = req.headers().get("content-type")?.unwrap_or_default();
    let Some(protocol) = Protocol::from_content_type(&content_type) else {
        // Connect: an unknown content type is refused at the HTTP level.
        let h = Headers::new();
        h.set(
            "accept-post",
            "application/json, application/proto, application/grpc-web+proto, application/grpc-web+json",
        )?;
        crate::worker::http::discard_body(&mut req).await;
        return Ok(Response::error("unsupported content type", 415)?.with_headers(h));
    };
    let authorization = req.headers().get("authorization")?;
    let who = match access.identify(env, authorization.as_deref(), now_ms()).await {
        Ok(w) => w,
        Err(e) => {
            crate::worker::http::discard_body(&mut req).await;
            return error(protocol, e.into());
        }
    };
    let limits = crate::worker::limits_from_env(env);
    // Protobuf events are smaller than their JSON, JSON messages about as large.
    let cap = limits.max_batch_bytes + (64 << 10);
    let bytes = match crate::worker::http::read_body(&mut req, cap).await? {
        Ok(b) => b,
        Err(e) => return error(protocol, e.into()),
    };
    // Permission before decoding: only the topic is read first, so a caller that may not
    // publish there never makes the Worker build the message.
    let (topic, events) = match grpc::peek_topic(protocol, &bytes)
        .and_then(|(t, n)| Ok((TopicName::parse(&t).map_err(RpcError::from)?, n)))
    {
        Ok(t) => t,
        Err(e) => return error(protocol, e),
    };
    if !who.may_publish(topic.as_str()) {
        return error(protocol, forbidden("publish to", topic.as_str()).into());
    }
    // The batch limit before the batch is built (millions of empty events fit in a body).
    let max = limits.max_batch_events;
    if events > max {
        let e = ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("batch has {events} events; the limit is {max}"),
        );
        return error(protocol, e.into());
    }
    let call = match grpc::decode(method, protocol, &bytes) {
        Ok(c) if c.topic == topic.as_str() => c,
        Ok(_) => return error(protocol, grpc::invalid("the message names its topic twice")),
        Err(e) => return error(protocol, e),
    };
    let relayed = Relayed {
        topic: &topic,
        source: who.source(),
        content_type: Some(if call.batch { BATCH } else { STRUCTURED }.to_owned()),
        headers: Vec::new(),
        ordering_key: call.ordering_key,
        delay_ms: call.delay_ms,
        body: call.body.as_bytes(),
    };
    match forward::publish(env, relayed).await? {
        Ok(published) => match grpc::encode_answer(method, protocol, &published) {
            Ok(body) => answer(protocol, body),
            Err(e) => error(protocol, e),
        },
        Err(e) => error(protocol, e.into()),
    }
}
