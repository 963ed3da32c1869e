//! Partitioned topics, the pure half of the front Worker's fan-out (`docs/PROTOCOL.md`,
//! "Partitioned topics"): splitting a batch or a settle by partition, and merging the
//! partitions' answers into one (batch results in input order, stats that add up, channel
//! answers, dead-letter pages). The front Worker (`worker/front/partitions.rs`) only
//! sends and receives.

use super::http::{AttachedConsumer, BatchItem, ChannelStats, TopicStats};
use super::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One partition's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl Answered {
    /// The contract's error in the body (a generic one if the body has none).
    pub fn error(&self) -> ApiError {
        #[derive(Deserialize)]
        struct Body {
            error: ApiError,
        }
        serde_json::from_str::<Body>(&self.body)
            .map(|b| b.error)
            .unwrap_or_else(|_| ApiError::new(ErrorCode::Internal, "a partition did not answer"))
    }

    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Groups items by partition, in partition order; each group keeps input order. Items
/// with no partition of their own (`None`: any will do) join partition `any`.
pub fn group(routes: &[Option<u32>], any: u32) -> Vec<(u32, Vec<usize>)> {
    let mut parts: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, p) in routes.iter().enumerate() {
        parts.entry(p.unwrap_or(any)).or_default().push(i);
    }
    parts.into_iter().collect()
}

/// The JSON array of the items at `indices`.
pub fn array_of(items: &[&RawValue], indices: &[usize]) -> String {
    let mut s = String::from("[");
    for (n, &i) in indices.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        s.push_str(items[i].get());
    }
    s.push(']');
    s
}

/// One batch answer from the parts' answers (`parts`: the input indices of each part
/// and its answer). Every part accepted: `201` with `results` in input order. Some part
/// refused: the status and error of the refused part holding the earliest event, with
/// `results` in input order, each `{"id","seq","partition","duplicate"}` or `{"error"}`.
pub fn merge_batch(topic: &str, total: usize, parts: &[(Vec<usize>, Answered)]) -> Answered {
    #[derive(Deserialize)]
    struct Accepted {
        results: Vec<BatchItem>,
    }
    let mut results: Vec<Value> = vec![Value::Null; total];
    let mut refused: Option<(usize, u16, ApiError)> = None;
    for (indices, answer) in parts {
        let accepted = answer.ok().then(|| serde_json::from_str::<Accepted>(&answer.body).ok()).flatten();
        match accepted {
            Some(a) if a.results.len() == indices.len() => {
                for (&i, item) in indices.iter().zip(a.results) {
                    results[i] = json!(item);
                }
            }
            _ => {
                let e = if answer.ok() {
                    ApiError::new(ErrorCode::Internal, "a partition answered an unexpected body")
                } else {
                    answer.error()
                };
                let first = indices.first().copied().unwrap_or(0);
                if refused.as_ref().is_none_or(|(i, _, _)| first < *i) {
                    let status = if answer.ok() { 500 } else { answer.status };
                    refused = Some((first, status, e.clone()));
                }
                for &i in indices {
                    results[i] = json!({ "error": e });
                }
            }
        }
    }
    match refused {
        None => Answered { status: 201, body: json!({ "topic": topic, "results": results }).to_string() },
        Some((_, status, e)) => {
            Answered { status, body: json!({ "error": e, "topic": topic, "results": results }).to_string() }
        }
    }
}

/// A channel's stats over partitions: counts add up, `paused` if any partition is, and
/// `partitions` lists each (with `partition`).
pub fn merge_channel(name: &str, each: Vec<(u32, ChannelStats)>) -> ChannelStats {
    let mut sum = ChannelStats { channel: name.to_owned(), ..Default::default() };
    let mut list = Vec::with_capacity(each.len());
    for (p, mut c) in each {
        sum.depth += c.depth;
        sum.ready += c.ready;
        sum.in_flight += c.in_flight;
        sum.deferred += c.deferred;
        sum.dead += c.dead;
        sum.consumers += c.consumers;
        sum.attached.extend(c.attached.iter().cloned().map(|a| AttachedConsumer { partition: Some(p), ..a }));
        sum.paused |= c.paused;
        sum.published_total += c.published_total;
        sum.delivered_total += c.delivered_total;
        sum.finished_total += c.finished_total;
        sum.requeued_total += c.requeued_total;
        sum.timed_out_total += c.timed_out_total;
        sum.dropped_total += c.dropped_total;
        sum.filtered_total += c.filtered_total;
        sum.expired_total += c.expired_total;
        sum.push_ok_total += c.push_ok_total;
        sum.push_failed_total += c.push_failed_total;
        if sum.push.is_none() {
            sum.push = c.push.clone();
        }
        if sum.filter.is_none() {
            sum.filter = c.filter.clone();
        }
        if sum.push_error.is_none() {
            sum.push_error = c.push_error.clone();
        }
        c.partition = Some(p);
        c.partitions = None;
        if let Some(push) = c.push.as_mut() {
            push.secret = None; // shown once, at the top
        }
        list.push(c);
    }
    sum.partitions = Some(list);
    sum
}

/// A topic's stats over its `n` partitions (`each`: the partition and its stats): `seq`
/// and `retained` add up (`seq` is then the number of events accepted, when none were
/// pruned out of order), channels merge by name.
pub fn merge_stats(topic: &str, n: u32, each: Vec<(u32, TopicStats)>) -> TopicStats {
    let mut out = TopicStats { topic: topic.to_owned(), partitions: n, ..Default::default() };
    let mut channels: BTreeMap<String, Vec<(u32, ChannelStats)>> = BTreeMap::new();
    for (p, t) in each {
        out.seq += t.seq;
        out.retained += t.retained;
        for c in t.channels {
            channels.entry(c.channel.clone()).or_default().push((p, c));
        }
    }
    out.channels = channels.into_iter().map(|(name, each)| merge_channel(&name, each)).collect();
    out
}

/// One answer for a channel operation that every partition did (`PUT`, `DELETE`, pause,
/// unpause, seek by time, redrive): the first refusal, else the sum. `PUT` is `201` if
/// any partition made the channel; `DELETE` is `204` if any partition had it; counts
/// (`ready`, `redriven`) add up; channel stats merge.
pub fn merge_channel_op(name: &str, answers: Vec<(u32, Answered)>) -> Answered {
    let not_found = |a: &Answered| a.status == 404;
    if let Some((_, a)) = answers.iter().find(|(_, a)| !a.ok() && !not_found(a)) {
        return a.clone();
    }
    let found: Vec<(u32, Answered)> = answers.iter().filter(|(_, a)| a.ok()).cloned().collect();
    if found.is_empty() {
        return answers
            .into_iter()
            .next()
            .map(|(_, a)| a)
            .unwrap_or(Answered { status: 404, body: String::new() });
    }
    if found.iter().all(|(_, a)| a.status == 204) {
        return Answered { status: 204, body: String::new() };
    }
    let status = if found.iter().any(|(_, a)| a.status == 201) { 201 } else { 200 };
    let values: Vec<(u32, Value)> =
        found.iter().filter_map(|(p, a)| Some((*p, serde_json::from_str::<Value>(&a.body).ok()?))).collect();
    let body = if values.iter().all(|(_, v)| v.get("channel").is_some()) {
        let each =
            values.into_iter().filter_map(|(p, v)| Some((p, serde_json::from_value(v).ok()?))).collect();
        json!(merge_channel(name, each))
    } else {
        let mut sum = serde_json::Map::new();
        for (_, v) in values {
            for (k, x) in v.as_object().into_iter().flatten() {
                if let Some(n) = x.as_u64() {
                    let was = sum.get(k).and_then(Value::as_u64).unwrap_or(0);
                    sum.insert(k.clone(), json!(was + n));
                }
            }
        }
        Value::Object(sum)
    };
    Answered { status, body: body.to_string() }
}

/// The items of a settle body, each with the partition its id names (`None` for an id
/// this bus did not make; partition 0 answers those).
pub fn settle_items(body: &[u8]) -> Result<Vec<(Option<u32>, &RawValue)>, ApiError> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        settle: Vec<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        id: String,
    }
    let b: Body<'_> = crate::proto::from_json_bytes(body)
        .map_err(|e| ApiError::invalid(format!("bad settle body: {e}")))?;
    Ok(b.settle
        .into_iter()
        .map(|raw| {
            let id = serde_json::from_str::<Item>(raw.get()).map(|i| i.id).unwrap_or_default();
            (super::id::parse_message_id(&id).map(|(p, _)| p), raw)
        })
        .collect())
}

/// One settle answer from the parts' answers: `results` in input order (a part that
/// failed as a whole gives each of its items that part's error).
pub fn merge_settle(total: usize, items: &[&RawValue], parts: &[(Vec<usize>, Answered)]) -> Answered {
    #[derive(Deserialize)]
    struct Results {
        results: Vec<Value>,
    }
    let mut results = vec![Value::Null; total];
    for (indices, a) in parts {
        let ok = (a.status == 200).then(|| serde_json::from_str::<Results>(&a.body).ok()).flatten();
        match ok {
            Some(r) if r.results.len() == indices.len() => {
                for (&i, v) in indices.iter().zip(r.results) {
                    results[i] = v;
                }
            }
            _ => {
                let e = a.error();
                for &i in indices {
                    let id =
                        serde_json::from_str::<Value>(items[i].get()).ok().and_then(|v| v.get("id").cloned());
                    results[i] = json!({ "id": id, "error": e });
                }
            }
        }
    }
    Answered { status: 200, body: json!({ "results": results }).to_string() }
}

/// Where a dead-letter listing of a partitioned topic goes on, from its `cursor`: the
/// partition to ask and the cursor to pass it (`None`: from its start). The partitions'
/// own cursors are message ids, which name their partition; `{p}00000000000000` (seq 0,
/// no message has it) is the start of partition `p`. No cursor starts partition 0.
pub fn dead_cursor(cursor: Option<&str>) -> Result<(u32, Option<String>), ApiError> {
    let Some(c) = cursor else { return Ok((0, None)) };
    let bad = || ApiError::invalid("cursor must be a cursor from a previous listing");
    if let Some((p, _)) = super::id::parse_message_id(c) {
        return Ok((p, Some(c.to_owned())));
    }
    match c.strip_suffix("00000000000000").map(|p| u32::from_str_radix(p, 16)) {
        Some(Ok(p)) if c.len() == 16 => Ok((p, None)),
        _ => Err(bad()),
    }
}

/// The cursor that starts partition `p`'s dead letters.
pub fn dead_cursor_start(p: u32) -> String {
    format!("{:02x}00000000000000", p & 0xff)
}

#[cfg(test)]
#[path = "fanout_tests.rs"]
mod tests;
