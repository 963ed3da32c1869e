//! The SQL of each [`Store`] method.

use super::rows::*;
use super::{heads, int, opt, HeadRow, MsgRow, One, SqlStore, HEAD_COLS, MSG_COLS};
use crate::core::store::*;
use crate::core::{ConsumerId, Millis, Seq};
use crate::worker::topic::schema::{self, state_code, state_of};
use worker::SqlStorageValue as V;

impl Store for SqlStore<'_> {
    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let r: Vec<One<String>> = self.rows("SELECT value AS v FROM meta WHERE key = ?", vec![key.into()])?;
        Ok(r.into_iter().next().and_then(|o| o.v))
    }

    fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.write(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), value.into()],
        )
    }

    fn max_seq(&self) -> StoreResult<Option<Seq>> {
        self.number("SELECT max(seq) AS v FROM events", vec![])
    }

    fn insert_event(&mut self, e: &EventRow) -> StoreResult<()> {
        self.write(
            "INSERT INTO events (seq, ts, source, eid, okey, deliver_at, expires_at, reply, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                int(e.seq),
                int(e.ts),
                e.source.as_str().into(),
                e.eid.as_str().into(),
                e.key.as_deref().into(),
                opt(e.deliver_at),
                opt(e.expires_at),
                int(u64::from(e.reply)),
                e.body.as_str().into(),
            ],
        )
    }

    fn event_body(&self, seq: Seq) -> StoreResult<Option<(String, bool)>> {
        let r: Vec<BodyRow> = self.rows("SELECT body, reply FROM events WHERE seq = ?", vec![int(seq)])?;
        Ok(r.into_iter().next().map(|b| (b.body, b.reply != 0.0)))
    }

    fn event_heads(&self, from: Seq, limit: usize) -> StoreResult<Vec<EventHead>> {
        let q = format!("SELECT {HEAD_COLS} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?");
        let r: Vec<HeadRow> = self.rows(&q, vec![int(from), int(limit as u64)])?;
        Ok(r.into_iter().map(Into::into).collect())
    }

    fn event_at_or_after(&self, from: Seq) -> StoreResult<Option<(Seq, Millis)>> {
        let r: Vec<SeqTsRow> =
            self.rows("SELECT seq, ts FROM events WHERE seq >= ? ORDER BY seq LIMIT 1", vec![int(from)])?;
        Ok(r.into_iter().next().map(|r| (r.seq as u64, r.ts as u64)))
    }

    fn count_events_from(&self, from: Seq) -> StoreResult<u64> {
        let r: Vec<One<f64>> =
            self.rows("SELECT count(*) AS v FROM events WHERE seq >= ?", vec![int(from)])?;
        Ok(r.into_iter().next().and_then(|o| o.v).unwrap_or(0.0) as u64)
    }

    fn recent_pairs(&self, since: Millis, limit: usize) -> StoreResult<Vec<(String, String, Seq, Millis)>> {
        // Acceptance times grow with seq: the newest events first, stopping at the window.
        let r: Vec<PairRow> = self.rows(
            "SELECT source, eid, seq, ts FROM events WHERE ts >= ? ORDER BY seq DESC LIMIT ?",
            vec![int(since), int(limit as u64)],
        )?;
        Ok(r.into_iter().map(|r| (r.source, r.eid, r.seq as u64, r.ts as u64)).collect())
    }

    fn confirm_pair(&self, seq: Seq, source: &str, eid: &str, since: Millis) -> StoreResult<bool> {
        let r: Vec<One<f64>> = self.rows(
            "SELECT seq AS v FROM events WHERE seq = ? AND source = ? AND eid = ? AND ts >= ?",
            vec![int(seq), source.into(), eid.into(), int(since)],
        )?;
        Ok(!r.is_empty())
    }

    fn prune_events(&mut self, below: Seq, cutoff: Millis, limit: usize) -> StoreResult<Vec<Seq>> {
        let r: Vec<One<f64>> = self.rows(
            "SELECT seq AS v FROM events e WHERE seq < ? AND ts <= ? \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.seq = e.seq) ORDER BY seq LIMIT ?",
            vec![int(below), int(cutoff), int(limit as u64)],
        )?;
        let seqs: Vec<Seq> = r.into_iter().filter_map(|o| o.v).map(|v| v as u64).collect();
        if let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) {
            self.write(
                "DELETE FROM events WHERE seq >= ? AND seq <= ? AND ts <= ? \
                 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.seq = events.seq)",
                vec![int(first), int(last), int(cutoff)],
            )?;
        }
        Ok(seqs)
    }

    fn oldest_prunable(&self, below: Seq) -> StoreResult<Option<Millis>> {
        self.number("SELECT ts AS v FROM events e WHERE seq < ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.seq = e.seq) \
             ORDER BY seq LIMIT 1",
            vec![int(below)])
    }

    fn spill(&mut self, hash: u64, seq: Seq, ts: Millis) -> StoreResult<()> {
        self.write(
            "INSERT INTO dedup_spill (hash, seq, ts) VALUES (?, ?, ?) ON CONFLICT(hash) DO UPDATE SET seq = excluded.seq, ts = excluded.ts",
            vec![format!("{hash:016x}").into(), int(seq), int(ts)],
        )
    }

    fn spilled(&self, hash: u64, since: Millis) -> StoreResult<Option<Seq>> {
        self.number(
            "SELECT seq AS v FROM dedup_spill WHERE hash = ? AND ts >= ?",
            vec![format!("{hash:016x}").into(), int(since)],
        )
    }

    fn expire_spilled(&mut self, since: Millis) -> StoreResult<bool> {
        self.write("DELETE FROM dedup_spill WHERE ts < ?", vec![int(since)])?;
        let r: Vec<One<f64>> = self.rows("SELECT 1 AS v FROM dedup_spill LIMIT 1", vec![])?;
        Ok(!r.is_empty())
    }

    fn channels(&self) -> StoreResult<Vec<ChannelRow>> {
        let r: Vec<ChannelData> = self.rows("SELECT data FROM channels ORDER BY id", vec![])?;
        r.into_iter()
            .map(|r| {
                serde_json::from_str(&r.data).map_err(|e| StoreError::other(format!("channel row: {e}")))
            })
            .collect()
    }

    fn put_channel(&mut self, c: &ChannelRow) -> StoreResult<()> {
        let data = serde_json::to_string(c).map_err(|e| StoreError::other(e.to_string()))?;
        self.write(
            "INSERT INTO channels (id, name, data) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            vec![int(u64::from(c.id)), c.name.as_str().into(), data.into()],
        )
    }

    fn delete_channel(&mut self, id: u32) -> StoreResult<()> {
        self.clear_messages(id)?;
        self.write("DELETE FROM channels WHERE id = ?", vec![int(u64::from(id))])
    }

    fn in_flight_rows(&self) -> StoreResult<Vec<MessageHead>> {
        let q = format!("SELECT {MSG_COLS} FROM messages WHERE channel = ? AND state = ? ORDER BY due, seq");
        let mut out = Vec::new();
        for c in self.channels()? {
            let r: Vec<MsgRow> =
                self.rows(&q, vec![int(u64::from(c.id)), V::Integer(state_code(RowState::InFlight))])?;
            out.extend(heads(r));
        }
        Ok(out)
    }

    fn row_counts(&self, channel: u32) -> StoreResult<RowCounts> {
        let r: Vec<CountRow> = self.rows(
            "SELECT state, count(*) AS n, count(okey) AS keyed FROM messages WHERE channel = ? GROUP BY state",
            vec![int(u64::from(channel))],
        )?;
        let mut c = RowCounts::default();
        for row in r {
            let n = row.n as u64;
            match state_of(row.state as i64) {
                Some(RowState::InFlight) => c.in_flight += n,
                Some(RowState::Ready) => c.ready += n,
                Some(RowState::Deferred) => c.deferred += n,
                Some(RowState::Dead) => c.dead += n,
                Some(RowState::Parked) => c.parked += n,
                None => {}
            }
            if matches!(
                state_of(row.state as i64),
                Some(RowState::Ready | RowState::Deferred | RowState::Parked)
            ) {
                c.keyed_waiting += row.keyed as u64;
            }
        }
        Ok(c)
    }

    fn message(&self, channel: u32, seq: Seq) -> StoreResult<Option<(MessageHead, Option<String>)>> {
        let q = format!(
            "SELECT {MSG_COLS}, (SELECT value FROM checkpoints c WHERE c.channel = m.channel AND c.seq = m.seq) AS checkpoint \
             FROM messages m WHERE channel = ? AND seq = ?"
        );
        let r: Vec<MsgWithCheckpoint> = self.rows(&q, vec![int(u64::from(channel)), int(seq)])?;
        Ok(r.into_iter().next().and_then(|r| Some((r.m.head()?, r.checkpoint))))
    }

    fn checkpoint(&self, channel: u32, seq: Seq) -> StoreResult<Option<String>> {
        let r: Vec<One<String>> = self.rows(
            "SELECT value AS v FROM checkpoints WHERE channel = ? AND seq = ?",
            vec![int(u64::from(channel)), int(seq)],
        )?;
        Ok(r.into_iter().next().and_then(|o| o.v))
    }

    fn put_message(&mut self, m: &MessageHead, checkpoint: &CheckpointWrite) -> StoreResult<()> {
        let (has_cp, cp_update) = match checkpoint {
            CheckpointWrite::Keep => (0, "has_cp"),
            CheckpointWrite::Set(_) => (1, "1"),
            CheckpointWrite::Clear => (0, "0"),
        };
        let q = format!(
            "INSERT INTO messages (channel, seq, state, owner, due, attempt, failures, max_attempts, timeout, okey, expires_at, has_cp) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(channel, seq) DO UPDATE SET state = excluded.state, \
             owner = excluded.owner, due = excluded.due, attempt = excluded.attempt, failures = excluded.failures, \
             max_attempts = excluded.max_attempts, timeout = excluded.timeout, okey = excluded.okey, \
             expires_at = excluded.expires_at, has_cp = {cp_update}"
        );
        let at = || vec![int(u64::from(m.channel)), int(m.seq)];
        let mut b = at();
        b.extend([
            V::Integer(state_code(m.state)),
            int(m.owner.0),
            int(m.due),
            int(u64::from(m.attempt)),
            int(u64::from(m.failures)),
            int(u64::from(m.max_attempts)),
            int(m.timeout_ms),
            m.key.as_deref().into(),
            opt(m.expires_at),
            V::Integer(has_cp),
        ]);
        self.write(&q, b)?;
        match checkpoint {
            CheckpointWrite::Keep => Ok(()),
            CheckpointWrite::Set(value) => {
                let mut b = at();
                b.push(value.as_str().into());
                self.write(
                    "INSERT INTO checkpoints (channel, seq, value) VALUES (?, ?, ?) \
                     ON CONFLICT(channel, seq) DO UPDATE SET value = excluded.value",
                    b,
                )
            }
            CheckpointWrite::Clear => {
                self.write("DELETE FROM checkpoints WHERE channel = ? AND seq = ?", at())
            }
        }
    }

    fn delete_message(&mut self, channel: u32, seq: Seq) -> StoreResult<()> {
        let at = || vec![int(u64::from(channel)), int(seq)];
        self.write("DELETE FROM messages WHERE channel = ? AND seq = ?", at())?;
        self.write("DELETE FROM checkpoints WHERE channel = ? AND seq = ?", at())
    }

    fn clear_messages(&mut self, channel: u32) -> StoreResult<()> {
        self.write("DELETE FROM messages WHERE channel = ?", vec![int(u64::from(channel))])?;
        self.write("DELETE FROM checkpoints WHERE channel = ?", vec![int(u64::from(channel))])?;
        self.write("DELETE FROM leases WHERE channel = ?", vec![int(u64::from(channel))])
    }

    fn ready_rows(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<MessageHead>> {
        let q = format!("SELECT {MSG_COLS} FROM messages WHERE channel = ? AND state = ? AND due = 0 AND seq > ? ORDER BY seq LIMIT ?");
        let b = vec![
            int(u64::from(channel)),
            V::Integer(state_code(RowState::Ready)),
            int(after),
            int(limit as u64),
        ];
        Ok(heads(self.rows(&q, b)?))
    }

    fn next_due(&self, channel: u32) -> StoreResult<Option<Millis>> {
        self.number(
            "SELECT min(due) AS v FROM messages WHERE channel = ? AND state = ?",
            vec![int(u64::from(channel)), V::Integer(state_code(RowState::Deferred))],
        )
    }

    fn due_rows(&self, channel: u32, until: Millis, limit: usize) -> StoreResult<Vec<MessageHead>> {
        let q = format!("SELECT {MSG_COLS} FROM messages WHERE channel = ? AND state = ? AND due <= ? ORDER BY due, seq LIMIT ?");
        let b = vec![
            int(u64::from(channel)),
            V::Integer(state_code(RowState::Deferred)),
            int(until),
            int(limit as u64),
        ];
        Ok(heads(self.rows(&q, b)?))
    }

    fn dead_rows(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<DeadRow>> {
        let r: Vec<DeadRowSql> = self.rows(
            "SELECT m.seq AS seq, m.failures AS failures, c.value AS checkpoint, e.body AS body FROM messages m \
             LEFT JOIN events e ON e.seq = m.seq LEFT JOIN checkpoints c ON c.channel = m.channel AND c.seq = m.seq WHERE m.channel = ? AND m.state = ? AND m.due = 0 AND m.seq > ? \
             ORDER BY m.seq LIMIT ?",
            vec![int(u64::from(channel)), V::Integer(state_code(RowState::Dead)), int(after), int(limit as u64)],
        )?;
        Ok(r.into_iter()
            .map(|r| DeadRow {
                seq: r.seq as u64,
                failures: r.failures as u32,
                checkpoint: r.checkpoint,
                body: r.body,
            })
            .collect())
    }

    fn dead_seqs(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<Seq>> {
        self.numbers("SELECT seq AS v FROM messages WHERE channel = ? AND state = ? AND due = 0 AND seq > ? ORDER BY seq LIMIT ?",
            vec![int(u64::from(channel)), V::Integer(state_code(RowState::Dead)), int(after), int(limit as u64)])
    }

    fn key_waiting_before(&self, channel: u32, key: &str, seq: Seq) -> StoreResult<bool> {
        let r: Vec<One<f64>> = self.rows(
            &format!(
                "SELECT 1 AS v FROM messages WHERE channel = ? AND okey = ? AND seq < ? AND state IN ({}) LIMIT 1",
                schema::WAITING
            ),
            vec![int(u64::from(channel)), key.into(), int(seq)],
        )?;
        Ok(!r.is_empty())
    }

    fn next_of_key(&self, channel: u32, key: &str, after: Seq) -> StoreResult<Option<MessageHead>> {
        let q = format!(
            "SELECT {MSG_COLS} FROM messages WHERE channel = ? AND okey = ? AND seq > ? AND state IN ({}) ORDER BY seq LIMIT 1",
            schema::WAITING
        );
        Ok(heads(self.rows(&q, vec![int(u64::from(channel)), key.into(), int(after)])?).into_iter().next())
    }

    fn park_after(&mut self, channel: u32, key: &str, after: Seq) -> StoreResult<u64> {
        let b = || {
            vec![
                int(u64::from(channel)),
                key.to_owned().into(),
                int(after),
                V::Integer(state_code(RowState::Ready)),
            ]
        };
        let n: Vec<One<f64>> = self.rows(
            "SELECT count(*) AS v FROM messages WHERE channel = ? AND okey = ? AND seq > ? AND state = ?",
            b(),
        )?;
        let n = n.into_iter().next().and_then(|o| o.v).unwrap_or(0.0) as u64;
        if n > 0 {
            let mut bindings = vec![V::Integer(state_code(RowState::Parked))];
            bindings.extend(b());
            self.write(
                "UPDATE messages SET state = ? WHERE channel = ? AND okey = ? AND seq > ? AND state = ?",
                bindings,
            )?;
        }
        Ok(n)
    }

    fn leases(&self) -> StoreResult<Vec<LeaseRow>> {
        let r: Vec<LeaseSql> = self
            .rows("SELECT channel, id, owner, deadline, max_attempts, timeout, seqs FROM leases", vec![])?;
        Ok(r.into_iter()
            .map(|r| LeaseRow {
                channel: r.channel as u32,
                id: r.id as u64,
                owner: ConsumerId(r.owner as u64),
                deadline: r.deadline as u64,
                max_attempts: r.max_attempts as u32,
                timeout_ms: r.timeout as u64,
                seqs: r.seqs.split(',').filter_map(|s| s.parse().ok()).collect(),
            })
            .collect())
    }

    fn put_lease(&mut self, l: &LeaseRow) -> StoreResult<()> {
        let seqs = l.seqs.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        self.write(
            "INSERT INTO leases (channel, id, owner, deadline, max_attempts, timeout, seqs) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT(channel, id) DO UPDATE SET seqs = excluded.seqs",
            vec![
                int(u64::from(l.channel)),
                int(l.id),
                int(l.owner.0),
                int(l.deadline),
                int(u64::from(l.max_attempts)),
                int(l.timeout_ms),
                seqs.into(),
            ],
        )
    }

    fn delete_lease(&mut self, channel: u32, id: u64) -> StoreResult<()> {
        self.write("DELETE FROM leases WHERE channel = ? AND id = ?", vec![int(u64::from(channel)), int(id)])
    }

    fn wipe(&mut self) -> StoreResult<()> {
        for t in ["events", "channels", "messages", "checkpoints", "leases", "dedup_spill", "meta"] {
            self.write(&format!("DELETE FROM {t}"), vec![])?;
        }
        Ok(())
    }
}
