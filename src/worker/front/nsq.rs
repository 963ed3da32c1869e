//! NSQ-compatible publishing in the front Worker: `POST /pub`, `POST /mpub`, `GET /ping`
//! with nsqd's answers (the wire rules are in [`crate::proto::nsq`]).
//!
//! The front Worker authenticates, checks the query and the framing (so a bad body gets
//! nsqd's code before it travels), then forwards the body unchanged to the topic's object
//! as a publish with [`FRAMING_HEADER`]; the object makes one plain event per message, all
//! or nothing, and the answer becomes nsqd's `OK` or error.

use super::auth::{forbidden, Access};
use super::forward::{self, Relayed};
use crate::proto::nsq::{self, NsqError, FRAMING_HEADER};
use crate::proto::{ApiError, ErrorCode};
use crate::worker::http::now_ms;
use worker::{Env, Headers, Request, Response, Result};

/// nsqd marks every v1 answer with this header.
const NSQ_CONTENT_TYPE: (&str, &str) = ("x-nsq-content-type", "nsq; version=1.0");

/// `200 OK` as nsqd's `/ping` and `/pub` write it.
pub fn ok() -> Result<Response> {
    let h = Headers::new();
    h.set("content-type", "text/plain; charset=utf-8")?;
    h.set(NSQ_CONTENT_TYPE.0, NSQ_CONTENT_TYPE.1)?;
    Ok(Response::ok("OK")?.with_headers(h))
}

/// `405` as nsqd answers `/pub` or `/mpub` with another method than `POST`.
pub fn wrong_method() -> Result<Response> {
    let h = Headers::new();
    h.set("content-type", "application/json; charset=utf-8")?;
    h.set(NSQ_CONTENT_TYPE.0, NSQ_CONTENT_TYPE.1)?;
    h.set("allow", "POST")?;
    Ok(Response::ok(r#"{"message":"METHOD_NOT_ALLOWED"}"#)?.with_status(405).with_headers(h))
}

fn error(e: &NsqError) -> Result<Response> {
    let h = Headers::new();
    h.set("content-type", "application/json; charset=utf-8")?;
    h.set(NSQ_CONTENT_TYPE.0, NSQ_CONTENT_TYPE.1)?;
    Ok(Response::ok(e.to_body())?.with_status(e.status).with_headers(h))
}

/// An error answer before the body was read (see [`crate::worker::http::discard_body`]).
async fn refuse(req: &mut Request, e: &NsqError) -> Result<Response> {
    crate::worker::http::discard_body(req).await;
    error(e)
}

/// `POST /pub` (`mpub` false) or `POST /mpub`.
pub async fn publish(mut req: Request, env: &Env, access: &Access, mpub: bool) -> Result<Response> {
    let api = |e: ApiError| NsqError::from_api(e, mpub);
    let authorization = req.headers().get("authorization")?;
    let who = match access.identify(env, authorization.as_deref(), now_ms()).await {
        Ok(w) => w,
        Err(e) => return refuse(&mut req, &api(e)).await,
    };
    let limits = crate::worker::limits_from_env(env);
    let pairs = crate::worker::http::query(&req);
    let query = match nsq::parse_query(mpub, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), &limits) {
        Ok(q) => q,
        Err(e) => return refuse(&mut req, &e).await,
    };
    if !who.may_publish(query.topic.as_str()) {
        return refuse(&mut req, &api(forbidden("publish to", query.topic.as_str()))).await;
    }
    let cap = if mpub { limits.max_batch_bytes } else { limits.max_event_bytes };
    let bytes = match crate::worker::http::read_body(&mut req, cap).await? {
        Ok(b) => b,
        Err(_) => {
            let what = if mpub { "the body" } else { "the message" };
            let e = ApiError::new(ErrorCode::PayloadTooLarge, format!("{what} is over {cap} bytes"));
            return error(&api(e));
        }
    };
    match nsq::split(query.framing, &bytes, &limits) {
        Ok(messages) if messages.is_empty() => return ok(), // nsqd accepts an mpub of empty lines
        Ok(_) => {}
        Err(e) => return error(&e),
    }
    let relayed = Relayed {
        topic: &query.topic,
        source: who.source(),
        content_type: req.headers().get("content-type")?,
        headers: vec![(FRAMING_HEADER, query.framing.as_str().to_owned())],
        ordering_key: None,
        delay_ms: query.delay_ms,
        body: &bytes,
    };
    match forward::publish(env, relayed).await? {
        Ok(_) => ok(),
        Err(e) => error(&api(e)),
    }
}
