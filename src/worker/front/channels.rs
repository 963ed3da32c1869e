//! Partitioned topics, continued: what the front Worker does on every partition of a
//! topic (stats added up, channel operations, settles split by message id, dead letters
//! listed across partitions with one cursor).

use super::partitions::{ask, ask_all, count, Outgoing};
use super::pull::pull_any;
use crate::proto::fanout::{self, Answered};
use crate::proto::http::TopicStats;
use crate::proto::route::ChannelOp;
use crate::proto::ApiError;
use futures::future::join_all;
use serde::Deserialize;
use worker::{Env, Result};

/// The stats of each partition (those that answered `200`).
pub async fn each_stats(env: &Env, topic: &str) -> Result<Vec<(u32, TopicStats)>> {
    let n = count(env, topic).await?;
    let path = format!("/v1/topics/{}", crate::worker::http::segment(topic));
    let out = Outgoing::get(path);
    let mut each = Vec::new();
    for (p, a) in ask_all(env, topic, n, &out, None).await? {
        match a.status {
            200 => {
                let s: TopicStats =
                    serde_json::from_str(&a.body).map_err(|e| worker::Error::RustError(e.to_string()))?;
                each.push((p, s));
            }
            404 => {}
            s => return Err(worker::Error::RustError(format!("partition {p} of {topic} answered {s}"))),
        }
    }
    Ok(each)
}

/// A topic's stats, added up over its partitions (`None`: no partition has the topic).
pub async fn merged_stats(env: &Env, topic: &str) -> Result<Option<TopicStats>> {
    let each = each_stats(env, topic).await?;
    if each.is_empty() {
        return Ok(None);
    }
    let n = each.iter().map(|(_, s)| s.partitions).max().unwrap_or(1);
    if n == 1 {
        return Ok(each.into_iter().next().map(|(_, s)| s));
    }
    Ok(Some(fanout::merge_stats(topic, n, each)))
}

/// A channel operation on a partitioned topic.
#[allow(clippy::too_many_arguments)]
pub async fn channel(
    env: &Env,
    topic: &str,
    name: &str,
    op: ChannelOp,
    n: u32,
    explicit: Option<u32>,
    out: &Outgoing,
    body: &[u8],
) -> Result<Answered> {
    #[derive(Deserialize, Default)]
    struct Named {
        partition: Option<u32>,
        seq: Option<serde_json::Value>,
    }
    let named: Named = crate::proto::from_json_bytes(body).unwrap_or_default();
    let only = named.partition.or(explicit);
    if only.is_some_and(|p| p >= n) {
        let e = ApiError::invalid(format!("partition must be 0..{} on this topic", n.saturating_sub(1)));
        return Ok(Answered { status: 400, body: e.to_body() });
    }
    match op {
        ChannelOp::Seek if named.seq.is_some() => {
            let Some(p) = only else {
                let e = ApiError::invalid(format!(
                    "a seek by seq on a topic of {n} partitions takes \"partition\""
                ));
                return Ok(Answered { status: 400, body: e.to_body() });
            };
            ask(env, topic, p, out.to(p, n, Some(body), &[])?).await
        }
        ChannelOp::Pull => match only {
            Some(p) => ask(env, topic, p, out.to(p, n, Some(body), &[])?).await,
            None => pull_any(env, topic, n, out, body).await,
        },
        ChannelOp::Settle => settle(env, topic, n, out, body).await,
        ChannelOp::Dead => dead(env, topic, n, out).await,
        ChannelOp::Peek => peek(env, topic, n, out).await,
        ChannelOp::Create => {
            // Partition 0 first: a push channel's secret, made there, is given to the others.
            let first = ask(env, topic, 0, out.to(0, n, Some(body), &[])?).await?;
            if first.status >= 300 {
                return Ok(first);
            }
            #[derive(Deserialize)]
            struct Made {
                push: Option<crate::proto::push::PushConfig>,
            }
            let secret = serde_json::from_str::<Made>(&first.body).ok().and_then(|m| m.push?.secret);
            let rest = match &secret {
                Some(s) => crate::proto::push::with_secret(body, s),
                None => body.to_vec(),
            };
            let mut calls = Vec::with_capacity(n as usize);
            for p in 1..n {
                let req = out.to(p, n, Some(&rest), &[])?;
                calls.push(async move { ask(env, topic, p, req).await.map(|a| (p, a)) });
            }
            let mut answers = vec![(0, first)];
            for a in join_all(calls).await {
                answers.push(a?);
            }
            Ok(fanout::merge_channel_op(name, answers))
        }
        _ => {
            let body = (!body.is_empty()).then_some(body);
            Ok(fanout::merge_channel_op(name, ask_all(env, topic, n, out, body).await?))
        }
    }
}

/// Settles pulled messages: each at the partition its id names.
async fn settle(env: &Env, topic: &str, n: u32, out: &Outgoing, body: &[u8]) -> Result<Answered> {
    let items = match fanout::settle_items(body) {
        Ok(i) => i,
        Err(e) => return Ok(Answered { status: 400, body: e.to_body() }),
    };
    let most = crate::core::MAX_SETTLE_ITEMS;
    if items.len() > most {
        let e = ApiError::invalid(format!("settle takes at most {most} items"));
        return Ok(Answered { status: 400, body: e.to_body() });
    }
    let routes: Vec<Option<u32>> = items.iter().map(|(p, _)| p.filter(|p| *p < n)).collect();
    let raws: Vec<&serde_json::value::RawValue> = items.iter().map(|(_, r)| *r).collect();
    let parts = fanout::group(&routes, 0);
    let mut calls = Vec::with_capacity(parts.len());
    for (p, indices) in &parts {
        let text = format!("{{\"settle\":{}}}", fanout::array_of(&raws, indices));
        let req = out.to(*p, n, Some(text.as_bytes()), &[])?;
        calls.push(async move { ask(env, topic, *p, req).await });
    }
    let mut answered = Vec::with_capacity(parts.len());
    for ((_, indices), a) in parts.iter().zip(join_all(calls).await) {
        answered.push((indices.clone(), a?));
    }
    Ok(fanout::merge_settle(raws.len(), &raws, &answered))
}

/// The next messages of every partition, partition by partition, up to `limit`.
async fn peek(env: &Env, topic: &str, n: u32, out: &Outgoing) -> Result<Answered> {
    #[derive(Deserialize)]
    struct Page {
        messages: Vec<Box<serde_json::value::RawValue>>,
    }
    let limit = out.param("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(10).clamp(1, 100);
    let mut messages = Vec::new();
    for (_, a) in ask_all(env, topic, n, out, None).await? {
        if a.status != 200 {
            return Ok(a);
        }
        let page: Page =
            serde_json::from_str(&a.body).map_err(|e| worker::Error::RustError(e.to_string()))?;
        messages.extend(page.messages.into_iter().take(limit - messages.len()));
    }
    Ok(Answered { status: 200, body: serde_json::json!({ "messages": messages }).to_string() })
}

/// A page of dead letters across partitions, in partition order, then seq.
async fn dead(env: &Env, topic: &str, n: u32, out: &Outgoing) -> Result<Answered> {
    #[derive(Deserialize)]
    struct Page {
        messages: Vec<Box<serde_json::value::RawValue>>,
        cursor: Option<String>,
    }
    let limit = out.param("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100).clamp(1, 1000);
    let (mut p, mut inner) = match fanout::dead_cursor(out.param("cursor")) {
        Ok(c) if c.0 < n => c,
        Ok(_) | Err(_) => {
            let e = ApiError::invalid("cursor must be a cursor from a previous listing");
            return Ok(Answered { status: 400, body: e.to_body() });
        }
    };
    let mut messages = Vec::new();
    let next = loop {
        let left = limit - messages.len();
        let set = [("limit", left.to_string()), ("cursor", inner.take().unwrap_or_default())];
        let a = ask(env, topic, p, out.to(p, n, None, &set)?).await?;
        if a.status != 200 {
            return Ok(a);
        }
        let page: Page =
            serde_json::from_str(&a.body).map_err(|e| worker::Error::RustError(e.to_string()))?;
        messages.extend(page.messages);
        if let Some(c) = page.cursor {
            break Some(c);
        }
        p += 1;
        if p >= n {
            break None;
        }
        if messages.len() >= limit {
            break Some(fanout::dead_cursor_start(p));
        }
    };
    let mut body = serde_json::json!({ "messages": messages });
    if let Some(c) = next {
        body["cursor"] = c.into();
    }
    Ok(Answered { status: 200, body: body.to_string() })
}
