//! What goes out in which `pub` frame (runs of plain publishes batched, within the
//! window of frames waiting for their answer) and what an `ok` answers.

use super::{Item, Publisher};
use crate::client::action::Action;
use crate::proto::codec::OkAnswer;

impl Publisher {
    /// How many frames may wait for their answer.
    pub(super) fn window(&self) -> usize {
        self.cfg.max_frames.max(1)
    }

    /// Frames sent whose answer someone still waits for (one whose publishes all timed out
    /// no longer holds the window).
    pub(super) fn waiting_frames(&self) -> usize {
        self.sent.values().filter(|f| f.iter().any(|i| !i.answered)).count()
    }

    /// Sends unsent publishes, batching runs of plain ones, while the window has room.
    pub(super) fn flush(&mut self) -> Vec<Action> {
        self.linger_at = None;
        let mut out = Vec::new();
        while self.waiting_frames() < self.window() {
            let Some(first) = self.unsent.pop_front() else { break };
            let r = self.next_ref;
            self.next_ref += 1;
            let mut items = vec![first];
            if items[0].batchable() {
                let mut bytes = items[0].event.len();
                while let Some(next) = self.unsent.front() {
                    let fits = items.len() < self.cfg.max_batch
                        && bytes + next.event.len() < self.cfg.max_batch_bytes;
                    if !next.batchable() || !fits {
                        break;
                    }
                    bytes += next.event.len() + 1;
                    items.extend(self.unsent.pop_front());
                }
            }
            out.push(Action::Send { frame: Self::frame(r, &items) });
            self.sent.insert(r, items);
        }
        out
    }

    fn frame(r: u64, items: &[Item]) -> String {
        if let [one] = items {
            let mut f = format!(r#"{{"op":"pub","ref":{r}"#);
            if let Some(d) = one.delay_ms {
                f.push_str(&format!(r#","delay_ms":{d}"#));
            }
            if let Some(t) = one.ttl_ms {
                f.push_str(&format!(r#","ttl_ms":{t}"#));
            }
            return format!(r#"{f},"event":{}}}"#, one.event);
        }
        let events: Vec<&str> = items.iter().map(|i| i.event.as_str()).collect();
        format!(r#"{{"op":"pub","ref":{r},"events":[{}]}}"#, events.join(","))
    }

    /// The answers to a frame's publishes (those not answered already).
    pub(super) fn published(items: Vec<Item>, ok: OkAnswer) -> Vec<Action> {
        let one = |it: &Item, id: String, seq: u64, partition: u32, duplicate: bool| Action::Published {
            reference: it.handle,
            id,
            seq,
            partition,
            duplicate,
        };
        match ok.results {
            Some(results) => items
                .iter()
                .zip(results)
                .filter(|(it, _)| !it.answered)
                .map(|(it, r)| one(it, r.id, r.seq, r.partition, r.duplicate))
                .collect(),
            None => items
                .iter()
                .filter(|it| !it.answered)
                .map(|it| {
                    let id = ok.id.clone().unwrap_or_default();
                    one(it, id, ok.seq.unwrap_or(0), ok.partition.unwrap_or(0), ok.duplicate.unwrap_or(false))
                })
                .collect(),
        }
    }
}
