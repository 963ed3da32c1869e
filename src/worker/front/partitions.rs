//! Partitioned topics in the front Worker (`docs/PROTOCOL.md`, "Partitioned topics"): the
//! one place that knows a topic may be several objects. It learns a topic's partition
//! count once per isolate (it never changes while the topic lives), sends every topic
//! operation to the partition(s) it concerns with `x-ismld-partition: {p}/{n}`, and fans
//! channel operations out to every partition. Splitting bodies and merging answers is
//! pure (`proto::fanout`, `proto::partition`); this file only sends and receives.
//!
//! A topic of one partition costs one map lookup here: its requests go to its object
//! unchanged, streamed.

use super::channels::{channel, merged_stats};
pub use super::outgoing::Outgoing;
use crate::proto::fanout::{self, Answered};
use crate::proto::partition::{self, object_name, Split};
use crate::proto::route::{ChannelOp, Route, TopicOp};
use crate::proto::{ApiError, ErrorCode};
use crate::worker::http;
use crate::worker::topic::PARTITION_HEADER;
use futures::future::join_all;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashMap;
use worker::{Env, Request, Response, Result};

thread_local! {
    /// Partition counts of the topics this isolate has seen.
    static COUNTS: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
}

/// Most topics whose count an isolate keeps (then it starts over).
const CACHED_TOPICS: usize = 4096;

fn cached(topic: &str) -> Option<u32> {
    COUNTS.with(|c| c.borrow().get(topic).copied())
}

fn remember(topic: &str, n: u32) {
    COUNTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHED_TOPICS {
            c.clear();
        }
        c.insert(topic.to_owned(), n);
    });
}

/// Forgets a topic's count (it was deleted, or a partition said it has another).
pub fn forget(topic: &str) {
    COUNTS.with(|c| c.borrow_mut().remove(topic));
}

/// The topic's partition count: cached, else asked of its partition 0 (a topic that
/// stores nothing yet has 1, not cached: a `PUT` may still partition it).
pub async fn count(env: &Env, topic: &str) -> Result<u32> {
    if let Some(n) = cached(topic) {
        return Ok(n);
    }
    #[derive(Deserialize)]
    struct Count {
        partitions: Option<u32>,
    }
    let stub = env.durable_object("TOPIC")?.get_by_name(topic)?;
    let mut res = stub.fetch_with_str("https://internal/_partitions").await?;
    let c: Count = res.json().await?;
    match c.partitions {
        Some(n) => {
            remember(topic, n);
            Ok(n)
        }
        None => Ok(1),
    }
}

/// Sends to partition `p` of `topic`.
pub async fn send(env: &Env, topic: &str, p: u32, req: Request) -> Result<Response> {
    env.durable_object("TOPIC")?.get_by_name(&object_name(topic, p))?.fetch_with_request(req).await
}

/// Sends and reads the answer.
pub async fn ask(env: &Env, topic: &str, p: u32, req: Request) -> Result<Answered> {
    let mut res = send(env, topic, p, req).await?;
    if misrouted(&res) {
        forget(topic);
    }
    Ok(Answered { status: res.status_code(), body: res.text().await.unwrap_or_default() })
}

/// Sends one request to each partition (`body` for all) and reads the answers.
pub async fn ask_all(
    env: &Env,
    topic: &str,
    n: u32,
    out: &Outgoing,
    body: Option<&[u8]>,
) -> Result<Vec<(u32, Answered)>> {
    let mut calls = Vec::with_capacity(n as usize);
    for p in 0..n {
        let req = out.to(p, n, body, &[])?;
        calls.push(async move { (p, ask(env, topic, p, req).await) });
    }
    join_all(calls).await.into_iter().map(|(p, a)| a.map(|a| (p, a))).collect()
}

/// Whether a partition said the topic has another count than we routed for.
fn misrouted(res: &Response) -> bool {
    res.status_code() == 409 && res.headers().get("x-ismld-misrouted").ok().flatten().is_some()
}

/// An answer as a response.
pub fn respond(a: Answered) -> Result<Response> {
    if a.body.is_empty() {
        return Ok(Response::empty()?.with_status(a.status));
    }
    http::json_text(a.status, a.body)
}

/// `?partition=P`: checked against the count.
fn partition_param(req: &Request, n: u32) -> std::result::Result<Option<u32>, ApiError> {
    let Some((_, v)) = http::query(req).into_iter().find(|(k, _)| k == "partition") else { return Ok(None) };
    match v.parse::<u32>() {
        Ok(p) if p < n => Ok(Some(p)),
        _ => Err(ApiError::invalid(format!(
            "partition must be 0..{} on this topic, not {v:?}",
            n.saturating_sub(1)
        ))),
    }
}

/// A random partition, for what any partition may take.
pub fn any(n: u32) -> u32 {
    let e = http::entropy();
    u32::from_le_bytes([e[0], e[1], e[2], e[3]]) % n.max(1)
}

/// Forwards a topic operation (credentials checked, source headers set) to the
/// partition(s) it concerns.
pub async fn forward(env: &Env, topic: &str, route: &Route, mut req: Request) -> Result<Response> {
    if matches!(route, Route::Topic(_, TopicOp::Create)) {
        return create(env, topic, req).await;
    }
    let n = count(env, topic).await?;
    if matches!(route, Route::Topic(_, TopicOp::Partitions)) {
        // Answered here, from what routing knows: what a client needs before its sockets.
        return http::json(200, &serde_json::json!({ "topic": topic, "partitions": n }));
    }
    let explicit = match partition_param(&req, n) {
        Ok(p) => p,
        Err(e) => {
            http::discard_body(&mut req).await;
            return http::error(&e);
        }
    };
    if matches!(route, Route::Topic(_, TopicOp::Delete)) {
        forget(topic);
    }
    if n == 1 {
        let res = send(env, topic, 0, req).await?;
        if misrouted(&res) {
            forget(topic);
        }
        return Ok(res);
    }
    let out = Outgoing::of(&req)?;
    let socket = matches!(route, Route::Topic(_, TopicOp::Socket) | Route::Channel(_, _, ChannelOp::Socket));
    if socket {
        let Some(p) = explicit else {
            let e = ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "topic {topic} has {n} partitions: open one socket per partition with ?partition=0..{}",
                    n - 1
                ),
            );
            return http::json(409, &serde_json::json!({ "error": e, "partitions": n }));
        };
        let headers = req.headers_mut()?;
        headers.set(PARTITION_HEADER, &format!("{p}/{n}"))?;
        return send(env, topic, p, req).await;
    }
    let answer = match route {
        Route::Topic(_, TopicOp::Publish) => match publish(env, topic, n, explicit, &out, &mut req).await? {
            Routed::Passed(res) => return Ok(res),
            Routed::Merged(a) => a,
        },
        Route::Topic(_, TopicOp::Request) => return request(env, topic, n, explicit, &out, &mut req).await,
        Route::Topic(_, TopicOp::Stats) => match merged_stats(env, topic).await? {
            Some(s) => Answered { status: 200, body: serde_json::to_string(&s).unwrap_or_default() },
            None => {
                Answered { status: 404, body: ApiError::new(ErrorCode::NotFound, "no such topic").to_body() }
            }
        },
        Route::Topic(_, TopicOp::Delete) => {
            let answers = ask_all(env, topic, n, &out, None).await?;
            forget(topic);
            match answers.into_iter().find(|(_, a)| a.status >= 300) {
                Some((_, a)) => a,
                None => Answered { status: 204, body: String::new() },
            }
        }
        Route::Channel(_, c, op) => {
            let cap = crate::worker::topic::channel_body_cap(*op, &crate::worker::limits_from_env(env));
            let body = match http::read_body(&mut req, cap).await? {
                Ok(b) => b,
                Err(e) => return http::error(&e),
            };
            channel(env, topic, c.as_str(), *op, n, explicit, &out, &body).await?
        }
        _ => {
            let body = match http::read_body(&mut req, crate::worker::topic::SMALL_BODY).await? {
                Ok(b) => b,
                Err(e) => return http::error(&e),
            };
            let p = explicit.unwrap_or(0);
            ask(env, topic, p, out.to(p, n, Some(&body), &[])?).await?
        }
    };
    respond(answer)
}

/// `PUT /v1/topics/{topic}` `{"partitions": N}`: partitions 1..N first, then partition 0,
/// which makes the topic partitioned (so a topic is never seen partitioned before all its
/// objects exist; a retry of the same `PUT` finishes an interrupted one).
async fn create(env: &Env, topic: &str, mut req: Request) -> Result<Response> {
    #[derive(Deserialize, Default)]
    struct Create {
        partitions: Option<u64>,
    }
    let out = Outgoing::of(&req)?;
    let body = match http::read_body(&mut req, crate::worker::topic::SMALL_BODY).await? {
        Ok(b) => b,
        Err(e) => return http::error(&e),
    };
    let parsed: Create = if body.is_empty() {
        Create::default()
    } else {
        match crate::proto::from_json_bytes(&body) {
            Ok(c) => c,
            Err(e) => return http::error(&ApiError::invalid(format!("bad body: {e}"))),
        }
    };
    let n = match partition::check_count(parsed.partitions.unwrap_or(1)) {
        Ok(n) => n,
        Err(e) => return http::error(&e),
    };
    forget(topic);
    let have = count(env, topic).await?;
    let exists = cached(topic).is_some();
    if exists && have != n {
        let e = ApiError::new(ErrorCode::Conflict, format!("topic {topic} exists with {have} partition(s)"));
        return http::json(409, &serde_json::json!({ "error": e, "partitions": have }));
    }
    let mut calls = Vec::new();
    for p in 1..n {
        let req = out.to(p, n, Some(&body), &[])?;
        calls.push(async move { ask(env, topic, p, req).await });
    }
    for a in join_all(calls).await {
        let a = a?;
        if a.status >= 300 {
            return respond(a);
        }
    }
    let a = ask(env, topic, 0, out.to(0, n, Some(&body), &[])?).await?;
    if a.status < 300 {
        remember(topic, n);
    }
    respond(a)
}

/// A publish: split by partition, each part atomic; one answer in input order.
async fn publish(
    env: &Env,
    topic: &str,
    n: u32,
    explicit: Option<u32>,
    out: &Outgoing,
    req: &mut Request,
) -> Result<Routed> {
    let limits = crate::worker::limits_from_env(env);
    let body = match http::read_body(req, limits.max_batch_bytes).await? {
        Ok(b) => b,
        Err(e) => return Ok(Routed::Merged(Answered { status: e.code.http_status(), body: e.to_body() })),
    };
    let items = match split_of(out, &body, n, explicit, limits.max_batch_events)? {
        Split::One(p) => {
            let p = p.unwrap_or_else(|| any(n));
            return Ok(Routed::Passed(pass(env, topic, p, out.to(p, n, Some(&body), &[])?).await?));
        }
        // An empty batch goes whole to one partition, which refuses it as a topic of one would.
        Split::Batch(items) if items.is_empty() => {
            let p = any(n);
            return Ok(Routed::Passed(pass(env, topic, p, out.to(p, n, Some(&body), &[])?).await?));
        }
        Split::Batch(items) => items,
    };
    // The batch limit is the whole batch's, not each part's.
    if items.len() > limits.max_batch_events {
        let e = ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("batch has {} events; the limit is {}", items.len(), limits.max_batch_events),
        );
        return Ok(Routed::Merged(Answered { status: e.code.http_status(), body: e.to_body() }));
    }
    let routes: Vec<Option<u32>> = items.iter().map(|(p, _)| *p).collect();
    let raws: Vec<&serde_json::value::RawValue> = items.iter().map(|(_, r)| *r).collect();
    let parts = fanout::group(&routes, any(n));
    if let [(p, indices)] = parts.as_slice() {
        let mut res = pass(env, topic, *p, out.to(*p, n, Some(&body), &[])?).await?;
        if res.status_code() < 300 {
            return Ok(Routed::Passed(res));
        }
        // Refused: the answer of a partitioned topic's batch, with `results` in input order.
        let a = Answered { status: res.status_code(), body: res.text().await.unwrap_or_default() };
        return Ok(Routed::Merged(fanout::merge_batch(topic, raws.len(), &[(indices.clone(), a)])));
    }
    let mut calls = Vec::with_capacity(parts.len());
    for (p, indices) in &parts {
        let text = fanout::array_of(&raws, indices);
        let req = out.to(*p, n, Some(text.as_bytes()), &[])?;
        calls.push(async move { ask(env, topic, *p, req).await });
    }
    let mut answered = Vec::with_capacity(parts.len());
    for ((_, indices), a) in parts.iter().zip(join_all(calls).await) {
        answered.push((indices.clone(), a?));
    }
    Ok(Routed::Merged(fanout::merge_batch(topic, raws.len(), &answered)))
}

/// What a publish to a partitioned topic answers: one partition's own answer, passed on
/// as it came, or the merged answers of several.
enum Routed {
    Passed(Response),
    Merged(Answered),
}

/// Sends to partition `p` and passes its answer on unread (forgetting the count if the
/// partition says it has another).
async fn pass(env: &Env, topic: &str, p: u32, req: Request) -> Result<Response> {
    let res = send(env, topic, p, req).await?;
    if misrouted(&res) {
        forget(topic);
    }
    Ok(res)
}

/// A request (request-response): one event, routed like a publish.
async fn request(
    env: &Env,
    topic: &str,
    n: u32,
    explicit: Option<u32>,
    out: &Outgoing,
    req: &mut Request,
) -> Result<Response> {
    let limits = crate::worker::limits_from_env(env);
    let body = match http::read_body(req, limits.max_event_bytes + 4096).await? {
        Ok(b) => b,
        Err(e) => return http::error(&e),
    };
    let p = match split_of(out, &body, n, explicit, limits.max_batch_events)? {
        Split::One(Some(p)) => p,
        _ => any(n),
    };
    pass(env, topic, p, out.to(p, n, Some(&body), &[])?).await
}

/// Where a publish body goes: `?partition=P` if given, else the bus's routing of it.
fn split_of<'a>(
    out: &Outgoing,
    body: &'a [u8],
    n: u32,
    explicit: Option<u32>,
    max_batch: usize,
) -> Result<Split<'a>> {
    if let Some(p) = explicit {
        return Ok(Split::One(Some(p)));
    }
    let content_type = out.headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str());
    let key = out.param("ordering_key").filter(|k| !k.is_empty());
    Ok(partition::split(content_type, &out.headers, body, key, n, max_batch))
}
