//! The topic registry and the views built on it: `GET /v1/topics` and `GET /metrics`.
//!
//! Each topic object adds itself to the registry (the `Registry` object named `topics`)
//! once, the first time it is used, and removes itself when the topic is deleted, so a
//! publish never touches a global object. The views read the list and ask each topic
//! object for its stats, in parallel; a listed topic that no longer exists (its removal
//! was interrupted by a restart) is skipped and removed.

use super::admin::call;
use crate::proto::event::rfc3339;
use crate::proto::http::TopicStats;
use crate::proto::metrics;
use crate::worker::http::{self, json, now_ms};
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::json as j;
use worker::{Env, Headers, Method, Response, Result};

/// One registry entry.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    topic: String,
    created: String,
}

/// How many topic objects are asked for stats at once.
const FAN_OUT: usize = 50;

/// Adds (`add`) or removes a topic in the registry.
pub async fn register(env: &Env, topic: &str, add: bool) -> Result<()> {
    let path = format!("/topics/{topic}");
    let res = if add {
        let entry = serde_json::to_string(&Entry { topic: topic.to_owned(), created: rfc3339(now_ms()) })
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        call(env, "REGISTRY", "topics", Method::Put, &path, Some(entry)).await?
    } else {
        call(env, "REGISTRY", "topics", Method::Delete, &path, None).await?
    };
    if res.status_code() >= 300 {
        return Err(worker::Error::RustError(format!("registry answered {}", res.status_code())));
    }
    Ok(())
}

async fn names(env: &Env) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct List {
        topics: Vec<Entry>,
    }
    let mut res = call(env, "REGISTRY", "topics", Method::Get, "/topics/", None).await?;
    let list: List = res.json().await?;
    Ok(list.topics.into_iter().map(|e| e.topic).collect())
}

/// The stats of a topic's partitions (one entry for a topic of one partition); none when
/// the topic no longer exists (it is then removed from the registry).
async fn stats(env: &Env, topic: String) -> Result<Vec<TopicStats>> {
    let each = super::channels::each_stats(env, &topic).await?;
    if each.is_empty() {
        register(env, &topic, false).await?;
    }
    Ok(each
        .into_iter()
        .map(|(p, mut s)| {
            s.partition = (s.partitions > 1).then_some(p);
            s
        })
        .collect())
}

/// The stats of every registered topic, by name: each partition's own.
async fn all_stats(env: &Env) -> Result<Vec<TopicStats>> {
    let names = names(env).await?;
    let mut out = Vec::with_capacity(names.len());
    for chunk in names.chunks(FAN_OUT) {
        for s in join_all(chunk.iter().map(|n| stats(env, n.clone()))).await {
            out.extend(s?);
        }
    }
    Ok(out)
}

/// The stats of every registered topic, partitions added up.
async fn merged(env: &Env) -> Result<Vec<TopicStats>> {
    let mut by_topic: Vec<(String, Vec<(u32, TopicStats)>)> = Vec::new();
    for s in all_stats(env).await? {
        let p = s.partition.unwrap_or(0);
        match by_topic.last_mut() {
            Some((t, each)) if *t == s.topic => each.push((p, s)),
            _ => by_topic.push((s.topic.clone(), vec![(p, s)])),
        }
    }
    Ok(by_topic
        .into_iter()
        .map(|(t, each)| {
            let n = each.iter().map(|(_, s)| s.partitions).max().unwrap_or(1);
            if n == 1 {
                each.into_iter().map(|(_, s)| s).next().unwrap_or_default()
            } else {
                crate::proto::fanout::merge_stats(&t, n, each)
            }
        })
        .collect())
}

/// `GET /v1/topics`: `{"topics": [{"topic", "seq", "channels": [names]}]}`. With
/// `?stats=true` each entry also has `retained` and `channel_stats` (what
/// `GET /v1/topics/{topic}` shows per channel), in one call: the dashboard's view.
pub async fn list(env: &Env, with_stats: bool) -> Result<Response> {
    let topics: Vec<_> = merged(env)
        .await?
        .into_iter()
        .map(|t| {
            let channels: Vec<&str> = t.channels.iter().map(|c| c.channel.as_str()).collect();
            let mut entry =
                j!({"topic": t.topic, "seq": t.seq, "partitions": t.partitions, "channels": channels});
            if with_stats {
                entry["retained"] = t.retained.into();
                entry["channel_stats"] = j!(t.channels);
            }
            entry
        })
        .collect();
    json(200, &j!({ "topics": topics }))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(env: &Env) -> Result<Response> {
    let text = metrics::render(crate::worker::VERSION, &all_stats(env).await?);
    let h = Headers::new();
    h.set("content-type", metrics::CONTENT_TYPE)?;
    Ok(http::text(200, text)?.with_headers(h))
}
