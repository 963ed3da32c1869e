//! The SQL of each [`Store`] method.

use super::{head, int, message, messages, opt, os, s, u, SqlStore, HEAD_COLS, MSG_COLS};
use crate::core::store::*;
use crate::core::{ConsumerId, Millis, Seq};
use crate::worker::topic::schema::{self, state_code, state_of};
use worker::SqlStorageValue as V;

impl Store for SqlStore<'_> {
    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.text("SELECT value FROM meta WHERE key = ?", vec![key.into()])
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
        self.insert_rows(std::slice::from_ref(e))
    }

    fn insert_events(&mut self, rows: &[EventRow]) -> StoreResult<()> {
        self.insert_rows(rows)
    }

    fn event_body(&self, seq: Seq) -> StoreResult<Option<(String, bool)>> {
        let r = self.row("SELECT body, reply FROM events WHERE seq = ?", vec![int(seq)])?;
        Ok(r.map(|r| (s(&r, 0), u(&r, 1) != 0)))
    }

    fn event_bodies(&self, from: Seq, to: Seq) -> StoreResult<Vec<(Seq, String, bool)>> {
        let q = "SELECT seq, body, reply FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq";
        Ok(self.rows(q, vec![int(from), int(to)])?.iter().map(|r| (u(r, 0), s(r, 1), u(r, 2) != 0)).collect())
    }

    fn event_heads(&self, from: Seq, limit: usize) -> StoreResult<Vec<EventHead>> {
        let q = format!("SELECT {HEAD_COLS} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?");
        Ok(self.rows(&q, vec![int(from), int(limit as u64)])?.iter().map(head).collect())
    }

    fn event_at_or_after(&self, from: Seq) -> StoreResult<Option<(Seq, Millis)>> {
        let r =
            self.row("SELECT seq, ts FROM events WHERE seq >= ? ORDER BY seq LIMIT 1", vec![int(from)])?;
        Ok(r.map(|r| (u(&r, 0), u(&r, 1))))
    }

    fn count_events_from(&self, from: Seq) -> StoreResult<u64> {
        Ok(self.number("SELECT count(*) FROM events WHERE seq >= ?", vec![int(from)])?.unwrap_or(0))
    }

    fn count_expired(&self, from: Seq, to: Seq, now: Millis) -> StoreResult<u64> {
        let q = "SELECT count(*) FROM events WHERE seq >= ? AND seq <= ? AND expires_at <= ?";
        Ok(self.number(q, vec![int(from), int(to), int(now)])?.unwrap_or(0))
    }

    fn count_expired_rows(&self, ch: u32, now: Millis) -> StoreResult<(u64, u64)> {
        self.expired_rows(ch, now)
    }

    fn recent_pairs(&self, since: Millis, limit: usize) -> StoreResult<Vec<(String, String, Seq, Millis)>> {
        // Acceptance times grow with seq: the newest events first, stopping at the window.
        let r = self.rows(
            "SELECT source, eid, seq, ts FROM events WHERE ts >= ? ORDER BY seq DESC LIMIT ?",
            vec![int(since), int(limit as u64)],
        )?;
        Ok(r.iter().map(|r| (s(r, 0), s(r, 1), u(r, 2), u(r, 3))).collect())
    }

    fn confirm_pair(&self, seq: Seq, source: &str, eid: &str, since: Millis) -> StoreResult<bool> {
        let r = self.row(
            "SELECT seq FROM events WHERE seq = ? AND source = ? AND eid = ? AND ts >= ?",
            vec![int(seq), source.into(), eid.into(), int(since)],
        )?;
        Ok(r.is_some())
    }

    fn prune_events(&mut self, below: Seq, cutoff: Millis, limit: usize) -> StoreResult<Vec<Seq>> {
        let seqs = self.numbers(
            "SELECT seq FROM events e WHERE seq < ? AND ts <= ? \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.seq = e.seq) ORDER BY seq LIMIT ?",
            vec![int(below), int(cutoff), int(limit as u64)],
        )?;
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

    fn spill(&mut self, table: u8, entries: &[Spilled]) -> StoreResult<()> {
        self.insert_spilled(table, entries)
    }

    fn spilled(&self, hash: u64, since: Millis) -> StoreResult<Vec<Seq>> {
        self.spilled_seqs(hash, since)
    }

    fn spilled_hashes(&self, since: Millis, most: usize) -> StoreResult<Option<Vec<u64>>> {
        self.spilled_keys(since, most)
    }

    fn clear_spilled(&mut self, table: u8) -> StoreResult<()> {
        self.drop_spill_table(table)
    }

    fn spill_used(&self) -> StoreResult<[bool; 3]> {
        self.spill_tables_used()
    }

    fn channels(&self) -> StoreResult<Vec<ChannelRow>> {
        let r = self.rows("SELECT data FROM channels ORDER BY id", vec![])?;
        r.iter()
            .map(|r| {
                serde_json::from_str(&s(r, 0)).map_err(|e| StoreError::other(format!("channel row: {e}")))
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
            let r = self.rows(&q, vec![int(u64::from(c.id)), V::Integer(state_code(RowState::InFlight))])?;
            out.extend(messages(r));
        }
        Ok(out)
    }

    fn row_counts(&self, channel: u32) -> StoreResult<RowCounts> {
        let r = self.rows(
            "SELECT state, count(*), count(okey) FROM messages WHERE channel = ? GROUP BY state",
            vec![int(u64::from(channel))],
        )?;
        let mut c = RowCounts::default();
        for row in r {
            let (state, n, keyed) = (state_of(u(&row, 0) as i64), u(&row, 1), u(&row, 2));
            match state {
                Some(RowState::InFlight) => c.in_flight += n,
                Some(RowState::Ready) => c.ready += n,
                Some(RowState::Deferred) => c.deferred += n,
                Some(RowState::Dead) => c.dead += n,
                Some(RowState::Parked) => c.parked += n,
                None => {}
            }
            if matches!(state, Some(RowState::Ready | RowState::Deferred | RowState::Parked)) {
                c.keyed_waiting += keyed;
            }
        }
        Ok(c)
    }

    fn message(&self, channel: u32, seq: Seq) -> StoreResult<Option<(MessageHead, Option<String>)>> {
        let q = format!(
            "SELECT {MSG_COLS}, (SELECT value FROM checkpoints c WHERE c.channel = m.channel AND c.seq = m.seq) AS checkpoint \
             FROM messages m WHERE channel = ? AND seq = ?"
        );
        let r = self.row(&q, vec![int(u64::from(channel)), int(seq)])?;
        Ok(r.and_then(|r| Some((message(&r)?, os(&r, 12)))))
    }

    fn checkpoint(&self, channel: u32, seq: Seq) -> StoreResult<Option<String>> {
        self.text(
            "SELECT value FROM checkpoints WHERE channel = ? AND seq = ?",
            vec![int(u64::from(channel)), int(seq)],
        )
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
        Ok(messages(self.rows(&q, b)?))
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
        Ok(messages(self.rows(&q, b)?))
    }

    fn dead_rows(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<DeadRow>> {
        let r = self.rows(
            "SELECT m.seq AS seq, m.failures AS failures, c.value AS checkpoint, e.body AS body FROM messages m \
             LEFT JOIN events e ON e.seq = m.seq LEFT JOIN checkpoints c ON c.channel = m.channel AND c.seq = m.seq WHERE m.channel = ? AND m.state = ? AND m.due = 0 AND m.seq > ? \
             ORDER BY m.seq LIMIT ?",
            vec![int(u64::from(channel)), V::Integer(state_code(RowState::Dead)), int(after), int(limit as u64)],
        )?;
        Ok(r.iter()
            .map(|r| DeadRow { seq: u(r, 0), failures: u(r, 1) as u32, checkpoint: os(r, 2), body: os(r, 3) })
            .collect())
    }

    fn dead_seqs(&self, channel: u32, after: Seq, limit: usize) -> StoreResult<Vec<Seq>> {
        self.numbers("SELECT seq AS v FROM messages WHERE channel = ? AND state = ? AND due = 0 AND seq > ? ORDER BY seq LIMIT ?",
            vec![int(u64::from(channel)), V::Integer(state_code(RowState::Dead)), int(after), int(limit as u64)])
    }

    fn key_waiting_before(&self, channel: u32, key: &str, seq: Seq) -> StoreResult<bool> {
        let r = self.row(
            &format!(
                "SELECT 1 FROM messages WHERE channel = ? AND okey = ? AND seq < ? AND state IN ({}) LIMIT 1",
                schema::WAITING
            ),
            vec![int(u64::from(channel)), key.into(), int(seq)],
        )?;
        Ok(r.is_some())
    }

    fn next_of_key(&self, channel: u32, key: &str, after: Seq) -> StoreResult<Option<MessageHead>> {
        let q = format!(
            "SELECT {MSG_COLS} FROM messages WHERE channel = ? AND okey = ? AND seq > ? AND state IN ({}) ORDER BY seq LIMIT 1",
            schema::WAITING
        );
        Ok(self.row(&q, vec![int(u64::from(channel)), key.into(), int(after)])?.as_ref().and_then(message))
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
        let n = self
            .number(
                "SELECT count(*) FROM messages WHERE channel = ? AND okey = ? AND seq > ? AND state = ?",
                b(),
            )?
            .unwrap_or(0);
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
        let r = self
            .rows("SELECT channel, id, owner, deadline, max_attempts, timeout, seqs FROM leases", vec![])?;
        Ok(r.iter()
            .map(|r| LeaseRow {
                channel: u(r, 0) as u32,
                id: u(r, 1),
                owner: ConsumerId(u(r, 2)),
                deadline: u(r, 3),
                max_attempts: u(r, 4) as u32,
                timeout_ms: u(r, 5),
                seqs: s(r, 6).split(',').filter_map(|x| x.parse().ok()).collect(),
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
        for t in [
            "events",
            "channels",
            "messages",
            "checkpoints",
            "leases",
            "dedup_gen_0",
            "dedup_gen_1",
            "dedup_pairs",
            "dedup_spill",
            "meta",
        ] {
            self.write(&format!("DELETE FROM {t}"), vec![])?;
        }
        Ok(())
    }
}
