//! The topic's Durable Object SQLite storage: schema, loading the core's state at start-up,
//! and applying the core's [`Store`] effects.
//!
//! Every call here is synchronous (`ctx.storage.sql.exec`), so all writes of one event
//! handler commit together, and the runtime's output gate holds back the handler's replies
//! (a `201`, an `ok`) until they are durable.

use crate::core::{ChannelRecord, ConsumerId, DedupFilter, MessageRecord, MessageState, Seq, Spilled, Store};
use serde::Deserialize;
use worker::{Result, SqlStorage, SqlStorageValue};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY, source TEXT NOT NULL, eid TEXT NOT NULL, ts INTEGER NOT NULL,
  okey TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dedup_spill (hash INTEGER PRIMARY KEY, seq INTEGER NOT NULL, ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
  name TEXT PRIMARY KEY, base_seq INTEGER NOT NULL, floor INTEGER NOT NULL,
  cursor INTEGER NOT NULL, paused INTEGER NOT NULL, delivered_total INTEGER NOT NULL,
  finished_total INTEGER NOT NULL, requeued_total INTEGER NOT NULL,
  timed_out_total INTEGER NOT NULL, dropped_total INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  channel TEXT NOT NULL, seq INTEGER NOT NULL, state INTEGER NOT NULL, consumer INTEGER,
  due INTEGER, attempt INTEGER NOT NULL, failures INTEGER NOT NULL, checkpoint TEXT,
  PRIMARY KEY (channel, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS requests (seq INTEGER PRIMARY KEY);
";

const IN_FLIGHT: i64 = 1;
const READY: i64 = 2;
const DEFERRED: i64 = 3;
const DEAD: i64 = 4;
const FINISHED: i64 = 5;

fn int(v: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(v as i64)
}

/// Typed access to one object's SQLite database.
pub struct Db {
    sql: SqlStorage,
}

/// What start-up reads.
pub struct Loaded {
    /// Topic name, if the topic was ever used.
    pub topic: Option<String>,
    /// Highest seq given.
    pub head: Seq,
    /// Events stored.
    pub retained: u64,
    /// Lowest stored seq (head + 1 if none).
    pub oldest: Seq,
    /// Acceptance time of the lowest stored seq.
    pub oldest_ts: Option<u64>,
    /// Ordering keys of events some channel may still need.
    pub keys: Vec<(Seq, String)>,
    /// Channel rows.
    pub channels: Vec<ChannelRecord>,
    /// Message rows with their channel names.
    pub messages: Vec<(String, MessageRecord)>,
}

#[derive(Deserialize)]
struct ChannelRow {
    name: String,
    base_seq: f64,
    floor: f64,
    cursor: f64,
    paused: f64,
    delivered_total: f64,
    finished_total: f64,
    requeued_total: f64,
    timed_out_total: f64,
    dropped_total: f64,
}

#[derive(Deserialize)]
struct MessageRow {
    channel: String,
    seq: f64,
    state: f64,
    consumer: Option<f64>,
    due: Option<f64>,
    attempt: f64,
    failures: f64,
    checkpoint: Option<String>,
}

#[derive(Deserialize)]
struct Stats {
    head: Option<f64>,
    oldest: Option<f64>,
    n: f64,
}

#[derive(Deserialize)]
struct SeqTs {
    seq: f64,
    ts: f64,
}

#[derive(Deserialize)]
struct SeqKey {
    seq: f64,
    okey: String,
}

#[derive(Deserialize)]
struct MaybeSeq {
    seq: Option<f64>,
}

#[derive(Deserialize)]
struct Value {
    value: String,
}

#[derive(Deserialize)]
struct Body {
    body: String,
}

impl Db {
    /// Opens the database, creating the schema if needed.
    pub fn open(sql: SqlStorage) -> Result<Db> {
        sql.exec(SCHEMA, None)?;
        Ok(Db { sql })
    }

    /// Reads everything the core needs at start-up.
    pub fn load(&self) -> Result<Loaded> {
        let topic = self.meta("topic")?;
        let pruned: Seq = self.meta("pruned_through")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let s: Stats = self
            .sql
            .exec("SELECT max(seq) AS head, min(seq) AS oldest, count(*) AS n FROM events", None)?
            .one()?;
        let head = (s.head.unwrap_or(0.0) as Seq).max(pruned);
        let channels: Vec<ChannelRecord> = self
            .sql
            .exec("SELECT * FROM channels", None)?
            .to_array::<ChannelRow>()?
            .into_iter()
            .map(|r| ChannelRecord {
                name: r.name,
                base_seq: r.base_seq as u64,
                floor: r.floor as u64,
                cursor: r.cursor as u64,
                paused: r.paused != 0.0,
                delivered_total: r.delivered_total as u64,
                finished_total: r.finished_total as u64,
                requeued_total: r.requeued_total as u64,
                timed_out_total: r.timed_out_total as u64,
                dropped_total: r.dropped_total as u64,
            })
            .collect();
        let messages = self
            .sql
            .exec("SELECT * FROM messages", None)?
            .to_array::<MessageRow>()?
            .into_iter()
            .filter_map(|r| {
                let due = r.due.unwrap_or(0.0) as u64;
                let state = match r.state as i64 {
                    IN_FLIGHT => MessageState::InFlight {
                        consumer: ConsumerId(r.consumer.unwrap_or(0.0) as u64),
                        deadline: due,
                    },
                    READY => MessageState::Ready,
                    DEFERRED => MessageState::Deferred { until: due },
                    DEAD => MessageState::Dead,
                    FINISHED => MessageState::Finished,
                    _ => return None,
                };
                let record = MessageRecord {
                    seq: r.seq as u64,
                    state,
                    attempt: r.attempt as u32,
                    failures: r.failures as u32,
                    checkpoint: r.checkpoint,
                };
                Some((r.channel, record))
            })
            .collect();
        // Keys matter only above the lowest floor: everything below is finished everywhere.
        let keys = match channels.iter().map(|c| c.floor).min() {
            Some(floor) => self
                .sql
                .exec("SELECT seq, okey FROM events WHERE okey IS NOT NULL AND seq > ?", vec![int(floor)])?
                .to_array::<SeqKey>()?
                .into_iter()
                .map(|r| (r.seq as u64, r.okey))
                .collect(),
            None => Vec::new(),
        };
        Ok(Loaded {
            topic,
            head,
            retained: s.n as u64,
            oldest: s.oldest.map(|o| o as u64).unwrap_or(head + 1),
            oldest_ts: self.oldest_events(1)?.first().map(|e| e.1),
            keys,
            channels,
            messages,
        })
    }

    /// A meta value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        let rows: Vec<Value> =
            self.sql.exec("SELECT value FROM meta WHERE key = ?", vec![key.into()])?.to_array()?;
        Ok(rows.into_iter().next().map(|v| v.value))
    }

    /// Runs a write, counting the rows it wrote (see [`super::counters`]).
    fn write(&self, query: &str, bindings: impl Into<Option<Vec<SqlStorageValue>>>) -> Result<()> {
        let cursor = self.sql.exec(query, bindings)?;
        super::counters::rows_written(cursor.rows_written());
        Ok(())
    }

    /// Sets a meta value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.write(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), value.into()],
        )?;
        Ok(())
    }

    /// Appends one event.
    pub fn insert_event(
        &self,
        seq: Seq,
        source: &str,
        eid: &str,
        ts: u64,
        okey: Option<&str>,
        body: &str,
    ) -> Result<()> {
        self.write(
            "INSERT INTO events (seq, source, eid, ts, okey, body) VALUES (?, ?, ?, ?, ?, ?)",
            vec![int(seq), source.into(), eid.into(), int(ts), okey.into(), body.into()],
        )?;
        Ok(())
    }

    /// The stored CloudEvent text of `seq`.
    pub fn event_body(&self, seq: Seq) -> Result<Option<String>> {
        let rows: Vec<Body> =
            self.sql.exec("SELECT body FROM events WHERE seq = ?", vec![int(seq)])?.to_array()?;
        Ok(rows.into_iter().next().map(|b| b.body))
    }

    /// Whether the events table has the `(source, eid)` index that topics created before
    /// the dedup filter's spill table used for every duplicate lookup. Such a topic keeps
    /// it (and [`Db::find_duplicate`] stays its last resort); new topics never make it,
    /// which saves a row write per event.
    pub fn has_legacy_dedup_index(&self) -> Result<bool> {
        let rows: Vec<MaybeSeq> = self
            .sql
            .exec("SELECT 1 AS seq FROM sqlite_master WHERE type = 'index' AND name = 'events_dedup'", None)?
            .to_array()?;
        Ok(!rows.is_empty())
    }

    /// Keeps an entry the dedup filter forgot while it was still inside the window.
    pub fn spill(&self, s: &Spilled) -> Result<()> {
        self.write(
            "INSERT OR REPLACE INTO dedup_spill (hash, seq, ts) VALUES (?, ?, ?)",
            vec![SqlStorageValue::Integer(s.hash as i64), int(s.seq), int(s.at)],
        )
    }

    /// The seq of a spilled entry with this hash accepted at or after `since`.
    pub fn spilled(&self, hash: u64, since: u64) -> Result<Option<Seq>> {
        let rows: Vec<MaybeSeq> = self
            .sql
            .exec(
                "SELECT seq FROM dedup_spill WHERE hash = ? AND ts >= ?",
                vec![SqlStorageValue::Integer(hash as i64), int(since)],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().and_then(|r| r.seq).map(|s| s as u64))
    }

    /// Deletes spilled entries accepted before `since`; returns whether any is left.
    pub fn expire_spilled(&self, since: u64) -> Result<bool> {
        self.write("DELETE FROM dedup_spill WHERE ts < ?", vec![int(since)])?;
        let rows: Vec<MaybeSeq> = self.sql.exec("SELECT seq FROM dedup_spill LIMIT 1", None)?.to_array()?;
        Ok(!rows.is_empty())
    }

    /// The seq of an event with this (`source`, `id`) accepted at or after `since`, by the
    /// legacy index (see [`Db::has_legacy_dedup_index`]).
    pub fn find_duplicate(&self, source: &str, eid: &str, since: u64) -> Result<Option<Seq>> {
        let rows: Vec<MaybeSeq> = self
            .sql
            .exec(
                "SELECT seq FROM events WHERE source = ? AND eid = ? AND ts >= ? ORDER BY seq LIMIT 1",
                vec![source.into(), eid.into(), int(since)],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().and_then(|r| r.seq).map(|s| s as u64))
    }

    /// Whether the event `seq` has this (`source`, `id`) and was accepted at or after
    /// `since`: the confirmation of a dedup filter match.
    pub fn confirm_duplicate(&self, seq: Seq, source: &str, eid: &str, since: u64) -> Result<Option<Seq>> {
        let rows: Vec<MaybeSeq> = self
            .sql
            .exec(
                "SELECT seq FROM events WHERE seq = ? AND source = ? AND eid = ? AND ts >= ?",
                vec![int(seq), source.into(), eid.into(), int(since)],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().and_then(|r| r.seq).map(|s| s as u64))
    }

    /// A dedup filter of the events accepted at or after `since`, newest first, at most
    /// `capacity` (reading stops at the first older event: acceptance times grow with seq).
    pub fn dedup_filter(&self, since: u64, capacity: usize) -> Result<DedupFilter> {
        #[derive(Deserialize)]
        struct Row {
            seq: i64,
            source: String,
            eid: String,
            ts: i64,
        }
        let cursor = self.sql.exec("SELECT seq, source, eid, ts FROM events ORDER BY seq DESC", None)?;
        let mut rows = Vec::new();
        let mut complete_since = 0;
        for row in cursor.next::<Row>() {
            let row = row?;
            if (row.ts as u64) < since {
                complete_since = since;
                break;
            }
            if rows.len() == capacity {
                complete_since = row.ts as u64 + 1;
                break;
            }
            rows.push(row);
        }
        let mut filter = DedupFilter::new(capacity, complete_since);
        for r in rows.into_iter().rev() {
            filter.insert(r.ts as u64, &r.source, &r.eid, r.seq as u64);
        }
        Ok(filter)
    }

    /// The first stored seq accepted at or after `ts`.
    pub fn seq_at_time(&self, ts: u64) -> Result<Option<Seq>> {
        let row: MaybeSeq =
            self.sql.exec("SELECT min(seq) AS seq FROM events WHERE ts >= ?", vec![int(ts)])?.one()?;
        Ok(row.seq.map(|s| s as u64))
    }

    /// The `n` lowest stored events, as (seq, acceptance time).
    pub fn oldest_events(&self, n: u64) -> Result<Vec<(Seq, u64)>> {
        let rows: Vec<SeqTs> =
            self.sql.exec("SELECT seq, ts FROM events ORDER BY seq LIMIT ?", vec![int(n)])?.to_array()?;
        Ok(rows.into_iter().map(|r| (r.seq as u64, r.ts as u64)).collect())
    }

    /// Marks `seq` as a request: it is delivered with `"reply": true`.
    pub fn insert_request(&self, seq: Seq) -> Result<()> {
        self.write("INSERT OR REPLACE INTO requests (seq) VALUES (?)", vec![int(seq)])?;
        Ok(())
    }

    /// Seqs of the stored requests.
    pub fn requests(&self) -> Result<Vec<Seq>> {
        let rows: Vec<MaybeSeq> = self.sql.exec("SELECT seq FROM requests", None)?.to_array()?;
        Ok(rows.into_iter().filter_map(|r| r.seq).map(|s| s as u64).collect())
    }

    /// Deletes every event with `seq <= through`, remembering `through` so the head
    /// survives even when no event is left.
    pub fn prune_through(&self, through: Seq) -> Result<()> {
        self.write("DELETE FROM events WHERE seq <= ?", vec![int(through)])?;
        self.write("DELETE FROM requests WHERE seq <= ?", vec![int(through)])?;
        self.set_meta("pruned_through", &through.to_string())
    }

    /// Deletes all data of the topic.
    pub fn wipe(&self) -> Result<()> {
        self.write(
            "DELETE FROM events; DELETE FROM channels; DELETE FROM messages; DELETE FROM meta; DELETE FROM requests; \
             DELETE FROM dedup_spill;",
            None,
        )?;
        Ok(())
    }

    /// Applies one change the core asked for.
    pub fn apply(&self, op: &Store) -> Result<()> {
        match op {
            Store::Channel(c) => {
                self.write(
                    // An upsert, not INSERT OR REPLACE: a replace counts as a delete plus an insert
                    // (two rows written); the update is one.
                    "INSERT INTO channels (name, base_seq, floor, cursor, paused, delivered_total, \
                     finished_total, requeued_total, timed_out_total, dropped_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT(name) DO UPDATE SET base_seq = excluded.base_seq, floor = excluded.floor, \
                     cursor = excluded.cursor, paused = excluded.paused, delivered_total = excluded.delivered_total, \
                     finished_total = excluded.finished_total, requeued_total = excluded.requeued_total, \
                     timed_out_total = excluded.timed_out_total, dropped_total = excluded.dropped_total",
                    vec![
                        c.name.as_str().into(),
                        int(c.base_seq),
                        int(c.floor),
                        int(c.cursor),
                        int(u64::from(c.paused)),
                        int(c.delivered_total),
                        int(c.finished_total),
                        int(c.requeued_total),
                        int(c.timed_out_total),
                        int(c.dropped_total),
                    ],
                )?;
            }
            Store::DropChannel(name) => {
                self.write("DELETE FROM messages WHERE channel = ?", vec![name.as_str().into()])?;
                self.write("DELETE FROM channels WHERE name = ?", vec![name.as_str().into()])?;
            }
            Store::Message { channel, record: m } => {
                let (state, consumer, due) = match m.state {
                    MessageState::InFlight { consumer, deadline } => (IN_FLIGHT, Some(consumer.0), deadline),
                    MessageState::Ready => (READY, None, 0),
                    MessageState::Deferred { until } => (DEFERRED, None, until),
                    MessageState::Dead => (DEAD, None, 0),
                    MessageState::Finished => (FINISHED, None, 0),
                };
                self.write(
                    "INSERT INTO messages (channel, seq, state, consumer, due, attempt, failures, checkpoint) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(channel, seq) DO UPDATE SET state = excluded.state, \
                     consumer = excluded.consumer, due = excluded.due, attempt = excluded.attempt, \
                     failures = excluded.failures, checkpoint = excluded.checkpoint",
                    vec![
                        channel.as_str().into(),
                        int(m.seq),
                        SqlStorageValue::Integer(state),
                        consumer.map(int).unwrap_or(SqlStorageValue::Null),
                        int(due),
                        int(u64::from(m.attempt)),
                        int(u64::from(m.failures)),
                        m.checkpoint.as_deref().into(),
                    ],
                )?;
            }
            Store::DropMessage { channel, seq } => {
                self.write(
                    "DELETE FROM messages WHERE channel = ? AND seq = ?",
                    vec![channel.as_str().into(), int(*seq)],
                )?;
            }
            Store::ClearMessages(channel) => {
                self.write("DELETE FROM messages WHERE channel = ?", vec![channel.as_str().into()])?;
            }
            Store::DropMessagesThrough { channel, through } => {
                self.write(
                    "DELETE FROM messages WHERE channel = ? AND seq <= ?",
                    vec![channel.as_str().into(), int(*through)],
                )?;
            }
        }
        Ok(())
    }
}
