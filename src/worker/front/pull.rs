//! A pull that names no partition, on a partitioned topic: the front Worker takes what
//! is ready from the partitions in turn (from a random one, so no partition starves),
//! and when none has anything and the pull may wait, long-polls every partition at once
//! with `wait_only` pulls, which lease nothing: the first to say a message is ready is
//! pulled from, and the others' answers can be dropped without holding a message.

use super::partitions::{any, ask, Outgoing};
use crate::proto::fanout::Answered;
use crate::proto::http::MAX_PULL_WAIT_MS;
use crate::worker::http::now_ms;
use futures::future::select_all;
use serde::Deserialize;
use serde_json::{json, value::RawValue, Value};

#[derive(Deserialize)]
struct Page {
    messages: Vec<Box<RawValue>>,
    #[serde(default)]
    ready: bool,
}

/// Pulls from any partition of `topic` (of `n`).
pub async fn pull_any(
    env: &worker::Env,
    topic: &str,
    n: u32,
    out: &Outgoing,
    body: &[u8],
) -> worker::Result<Answered> {
    let Ok(Value::Object(params)) =
        crate::proto::from_json_bytes::<Value>(if body.is_empty() { b"{}" } else { body })
    else {
        // Let a partition refuse it with the usual error.
        return ask(env, topic, 0, out.to(0, n, Some(body), &[])?).await;
    };
    // Checked as one partition checks it: anything out of range or mistyped is refused
    // by partition 0 with the usual error, not clamped.
    let limits = crate::worker::limits_from_env(env);
    let checked =
        crate::proto::from_json_bytes::<crate::proto::http::Pull>(if body.is_empty() { b"{}" } else { body })
            .ok()
            .and_then(|p| p.check(&limits).ok());
    let Some(checked) = checked else {
        return ask(env, topic, 0, out.to(0, n, Some(body), &[])?).await;
    };
    let (max, wait_ms) = (checked.max.max(1), checked.wait_ms.min(MAX_PULL_WAIT_MS));
    let until = now_ms() + wait_ms;
    let mut first = any(n);
    loop {
        // Take what is ready, partition after partition, up to `max`.
        let mut messages: Vec<Box<RawValue>> = Vec::new();
        for i in 0..n {
            let p = (first + i) % n;
            let mut ask_for = params.clone();
            ask_for.insert("max".into(), json!(max - messages.len()));
            ask_for.insert("wait_ms".into(), json!(0));
            let text = Value::Object(ask_for).to_string();
            let a = ask(env, topic, p, out.to(p, n, Some(text.as_bytes()), &[])?).await?;
            if a.status != 200 {
                return Ok(a);
            }
            let page: Page =
                serde_json::from_str(&a.body).map_err(|e| worker::Error::RustError(e.to_string()))?;
            messages.extend(page.messages);
            if messages.len() >= max {
                break;
            }
        }
        let now = now_ms();
        if !messages.is_empty() || now >= until {
            return Ok(Answered { status: 200, body: json!({ "messages": messages }).to_string() });
        }
        // Nothing anywhere: wait on every partition at once, taking nothing.
        let mut wait = params.clone();
        wait.insert("wait_only".into(), json!(true));
        wait.insert("wait_ms".into(), json!(until - now));
        let text = Value::Object(wait).to_string();
        let mut calls = Vec::with_capacity(n as usize);
        for p in 0..n {
            let req = out.to(p, n, Some(text.as_bytes()), &[])?;
            calls.push(Box::pin(async move { (p, ask(env, topic, p, req).await) }));
        }
        let ((p, a), _, _) = select_all(calls).await;
        let a = a?;
        if a.status != 200 {
            return Ok(a);
        }
        let page: Page =
            serde_json::from_str(&a.body).map_err(|e| worker::Error::RustError(e.to_string()))?;
        if !page.ready {
            // That partition's wait ended with nothing: so did the time.
            return Ok(Answered { status: 200, body: r#"{"messages":[]}"#.into() });
        }
        first = p;
    }
}
