//! Request-response (PROTOCOL.md section 3): `POST /v1/topics/{t}/requests` publishes one
//! event durably, delivered with `"reply": true`, and waits in the topic object for the
//! first `respond` frame to it (see `socket.rs`), or the timeout.

use super::http::{self, now_ms};
use super::object::Topic;
use super::received::Received;
use crate::proto::id::message_id;
use crate::proto::publish;
use crate::proto::{ErrorCode, TopicName};
use worker::{Request, Response, Result};

/// Default and longest wait of a request for its response.
const REQUEST_TIMEOUT_MS: (u64, u64) = (30_000, 300_000);

/// `POST /v1/topics/{t}/requests`: publishes one event durably, delivered with
/// `"reply": true`, and waits for the first `respond` to it (or the timeout).
pub async fn request(obj: &Topic, topic: &TopicName, mut req: Request) -> Result<Response> {
    let timeout_ms = match http::query_u64(&req, "timeout_ms") {
        Ok(t) => t.unwrap_or(REQUEST_TIMEOUT_MS.0),
        Err(e) => {
            http::discard_body(&mut req).await;
            return http::error(&e);
        }
    };
    if !(1..=REQUEST_TIMEOUT_MS.1).contains(&timeout_ms) {
        http::discard_body(&mut req).await;
        return http::fail(
            ErrorCode::InvalidRequest,
            format!("timeout_ms must be 1..={}", REQUEST_TIMEOUT_MS.1),
        );
    }
    let received = match Received::read(obj, &mut req).await? {
        Ok(r) => r,
        Err(e) => return http::error(&e),
    };
    let now = now_ms();
    let appended = obj.with(|inner| {
        let appended = publish::read(&received.body(topic), inner.queue.head() + 1, now, &inner.limits, true)
            .and_then(|events| {
                inner.append(now, topic, events, received.ordering_key.clone(), received.delay_ms, true)
            });
        Ok(appended.map(|r| r.into_iter().next()))
    })?;
    let seq = match appended {
        Ok(Some((_, seq, _))) => seq,
        Ok(None) => return http::fail(ErrorCode::Internal, "no event appended"),
        Err(e) => return http::error(&e),
    };
    let (tx, rx) = futures::channel::oneshot::channel();
    obj.waiters().borrow_mut().insert(seq, tx);
    // The request is durable and its delivery's deadline armed before the wait begins.
    super::object::durable(obj.state()).await?;
    obj.sync_alarm().await;
    let timeout = worker::Delay::from(std::time::Duration::from_millis(timeout_ms));
    let answer = match futures::future::select(rx, timeout).await {
        futures::future::Either::Left((Ok(event), _)) => Some(event),
        _ => None,
    };
    obj.waiters().borrow_mut().remove(&seq);
    match answer {
        Some(event) => {
            let mut r = Response::ok(event)?.with_status(200);
            r.headers_mut().set("content-type", "application/cloudevents+json")?;
            Ok(r)
        }
        None => http::fail(
            ErrorCode::Timeout,
            format!(
                "no response within {timeout_ms} ms; the request event {} stays published",
                message_id(seq)
            ),
        ),
    }
}
