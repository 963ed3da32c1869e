//! Publishing on behalf of the front Worker's other dialects (NSQ, gRPC-Web, Connect):
//! a body is relayed to the topic's object as an ordinary publish, and its answer comes
//! back as the JSON API's `201` body or the contract's error. A partitioned topic's
//! publish is routed like any other (`partitions.rs`).

use crate::proto::route::{Route, TopicOp};
use crate::proto::{ApiError, ErrorCode, TopicName};
use crate::worker::topic::SOURCE_HEADER;
use serde::Deserialize;
use worker::{Env, Headers, Method, Request, RequestInit, Result};

/// A publish to relay.
pub struct Relayed<'a> {
    /// Topic.
    pub topic: &'a TopicName,
    /// The caller's event source (`/clients/{login}`, ...).
    pub source: String,
    /// Content type of `body`.
    pub content_type: Option<String>,
    /// Extra headers for the object (e.g. the NSQ framing).
    pub headers: Vec<(&'static str, String)>,
    /// `ordering_key` override.
    pub ordering_key: Option<String>,
    /// `delay_ms` override.
    pub delay_ms: Option<u64>,
    /// The body.
    pub body: &'a [u8],
}

/// Publishes; `Ok(Ok(json))` is the `201` answer's body.
pub async fn publish(env: &Env, r: Relayed<'_>) -> Result<std::result::Result<String, ApiError>> {
    let headers = Headers::new();
    if let Some(ct) = &r.content_type {
        headers.set("content-type", ct)?;
    }
    headers.set(SOURCE_HEADER, &r.source)?;
    for (k, v) in &r.headers {
        headers.set(k, v)?;
    }
    let mut url =
        format!("https://internal/v1/topics/{}/events", crate::worker::http::segment(r.topic.as_str()));
    let mut query = Vec::new();
    if let Some(k) = &r.ordering_key {
        query.push(format!("ordering_key={}", crate::worker::http::segment(k)));
    }
    if let Some(d) = r.delay_ms {
        query.push(format!("delay_ms={d}"));
    }
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(r.body).into()));
    let route = Route::Topic(r.topic.clone(), TopicOp::Publish);
    let req = Request::new_with_init(&url, &init)?;
    let mut answer = super::partitions::forward(env, r.topic.as_str(), &route, req).await?;
    let text = answer.text().await.unwrap_or_default();
    if answer.status_code() < 300 {
        return Ok(Ok(text));
    }
    #[derive(Deserialize)]
    struct Body {
        error: ApiError,
    }
    Ok(Err(serde_json::from_str::<Body>(&text)
        .map(|b| b.error)
        .unwrap_or_else(|_| ApiError::new(ErrorCode::Internal, "the topic did not answer"))))
}
