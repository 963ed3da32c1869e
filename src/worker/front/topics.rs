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
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
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

async fn stats(env: &Env, topic: String) -> Result<Option<TopicStats>> {
    let path = format!("/v1/topics/{}", utf8_percent_encode(&topic, NON_ALPHANUMERIC));
    let mut res = call(env, "TOPIC", &topic, Method::Get, &path, None).await?;
    match res.status_code() {
        200 => Ok(Some(res.json().await?)),
        404 => {
            register(env, &topic, false).await?;
            Ok(None)
        }
        s => Err(worker::Error::RustError(format!("topic {topic} answered {s}"))),
    }
}

/// The stats of every registered topic, by name.
async fn all_stats(env: &Env) -> Result<Vec<TopicStats>> {
    let names = names(env).await?;
    let mut out = Vec::with_capacity(names.len());
    for chunk in names.chunks(FAN_OUT) {
        for s in join_all(chunk.iter().map(|n| stats(env, n.clone()))).await {
            if let Some(s) = s? {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// `GET /v1/topics`: `{"topics": [{"topic", "seq", "channels": [names]}]}`. With
/// `?stats=true` each entry also has `retained` and `channel_stats` (what
/// `GET /v1/topics/{topic}` shows per channel), in one call: the dashboard's view.
pub async fn list(env: &Env, with_stats: bool) -> Result<Response> {
    let topics: Vec<_> = all_stats(env)
        .await?
        .into_iter()
        .map(|t| {
            let channels: Vec<&str> = t.channels.iter().map(|c| c.channel.as_str()).collect();
            let mut entry = j!({"topic": t.topic, "seq": t.seq, "channels": channels});
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
