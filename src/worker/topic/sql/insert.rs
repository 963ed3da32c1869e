//! Appending events: a publish of many events is a few multi-row `INSERT`s, not one
//! statement per event (each `exec` costs the runtime a call, a statement lookup and a
//! cursor whatever it writes). Durable Object SQLite binds at most 100 parameters per
//! statement, so an event with only the common columns (no ordering key, deferral,
//! expiry or reply mark: 5 parameters) goes 20 to a statement, any other (9) 11.

use super::{js_int, js_opt, js_text, SqlStore};
use crate::core::store::{EventRow, StoreResult};
use wasm_bindgen::JsValue;

/// Most parameters Durable Object SQLite binds in one statement.
const MAX_PARAMS: usize = 100;

const COMMON: &str = "INSERT INTO events (seq, ts, source, eid, body) VALUES ";
const COMMON_ROW: &str = "(?, ?, ?, ?, ?)";
const FULL: &str =
    "INSERT INTO events (seq, ts, source, eid, okey, deliver_at, expires_at, reply, body) VALUES ";
const FULL_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";

fn common(e: &EventRow) -> bool {
    e.key.is_none() && e.deliver_at.is_none() && e.expires_at.is_none() && !e.reply
}

impl SqlStore<'_> {
    /// Inserts `rows` (any number) in as few statements as the parameter limit allows.
    pub(super) fn insert_rows(&self, rows: &[EventRow]) -> StoreResult<()> {
        let (plain, full): (Vec<&EventRow>, Vec<&EventRow>) = rows.iter().partition(|e| common(e));
        self.insert_chunked(&plain, (COMMON, COMMON_ROW), |e, b| {
            b.extend([
                js_int(e.seq),
                js_int(e.ts),
                js_text(Some(&e.source)),
                js_text(Some(&e.eid)),
                js_text(Some(&e.body)),
            ])
        })?;
        self.insert_chunked(&full, (FULL, FULL_ROW), |e, b| {
            b.extend([
                js_int(e.seq),
                js_int(e.ts),
                js_text(Some(&e.source)),
                js_text(Some(&e.eid)),
                js_text(e.key.as_deref()),
                js_opt(e.deliver_at),
                js_opt(e.expires_at),
                js_int(u64::from(e.reply)),
                js_text(Some(&e.body)),
            ])
        })
    }

    /// `rows` in statements of `head`, as many `row` placeholders as the parameter limit
    /// allows (each bound to the values `values` adds for its row).
    pub(super) fn insert_chunked<T>(
        &self,
        rows: &[T],
        (head, row): (&str, &str),
        values: impl Fn(&T, &mut Vec<JsValue>),
    ) -> StoreResult<()> {
        let width = row.matches('?').count();
        for chunk in rows.chunks(MAX_PARAMS / width) {
            let mut bound = Vec::with_capacity(chunk.len() * width);
            chunk.iter().for_each(|r| values(r, &mut bound));
            self.write_js(&statement(head, row, chunk.len()), bound)?;
        }
        Ok(())
    }
}

fn statement(head: &str, row: &str, n: usize) -> String {
    let mut q = String::with_capacity(head.len() + n * (row.len() + 2));
    q.push_str(head);
    for i in 0..n {
        if i > 0 {
            q.push_str(", ");
        }
        q.push_str(row);
    }
    q
}
