//! Coalesced acknowledgements (`docs/PROTOCOL.md`, "Batched frames"): stateless `fin`,
//! `touch` and `req` (with the same delay) of several messages go out in one frame with
//! `ids` when the server's `welcome` said `"batch": true`. Each settle keeps its own
//! `ref`, answered from the frame's `settled` / `missing`.
//!
//! Owns: the groups waiting for the next flush and the frames sent and not answered.
//! A group is flushed at the session's next timer (the driver runs it on a 0 ms timer) or
//! as soon as it holds [`MAX_SETTLE_IDS`] ids.

use super::action::Action;
use super::refs::RefMap;
use crate::proto::frame::{ClientFrame, Settle, SettleIds, MAX_SETTLE_IDS};
use serde_json::Value;

/// Settles of one verb and delay, waiting to go out.
#[derive(Debug)]
struct Group {
    verb: Settle,
    delay_ms: Option<u64>,
    /// (message id, the settle's own ref)
    items: Vec<(String, u64)>,
}

/// A frame with `ids` sent and not answered yet.
#[derive(Debug)]
struct Sent {
    verb: Settle,
    items: Vec<(String, u64)>,
    /// When it went out: a touch's new deadline is estimated from it.
    at: u64,
}

/// The coalescing buffer of one consumer session.
#[derive(Debug, Default)]
pub struct Acks {
    groups: Vec<Group>,
    sent: RefMap<Sent>,
}

/// A settle frame to send, with the `ref` it must carry.
pub struct Outgoing {
    /// The frame.
    pub frame: ClientFrame,
    /// Its ref.
    pub reference: u64,
}

impl Acks {
    /// Whether a settle of `verb` may wait for a batch (no state; shelve is single-id).
    pub fn batchable(verb: Settle, has_state: bool) -> bool {
        !has_state && verb != Settle::Shelve
    }

    /// Whether nothing waits for a flush.
    pub fn idle(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds a settle; returns true when its group is full (flush now).
    pub fn add(&mut self, verb: Settle, delay_ms: Option<u64>, id: &str, reference: u64) -> bool {
        let item = (id.to_owned(), reference);
        if let Some(g) = self.groups.iter_mut().find(|g| g.verb == verb && g.delay_ms == delay_ms) {
            g.items.push(item);
            return g.items.len() >= MAX_SETTLE_IDS;
        }
        self.groups.push(Group { verb, delay_ms, items: vec![item] });
        false
    }

    /// The frames of every waiting group, in the order the groups were started. A group
    /// of one goes as the single-id form (its answer then carries a touch's deadline).
    /// `take_ref` gives frame refs for frames with `ids`.
    pub fn flush(&mut self, now: u64, mut take_ref: impl FnMut() -> u64) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for g in std::mem::take(&mut self.groups) {
            if g.items.len() == 1 {
                let (id, r) = g.items.into_iter().next().unwrap_or_default();
                let frame = ClientFrame::Settle {
                    verb: g.verb,
                    ids: SettleIds::One(id),
                    state: None,
                    delay_ms: g.delay_ms,
                    reference: Some(Value::from(r)),
                };
                out.push(Outgoing { frame, reference: r });
                continue;
            }
            let r = take_ref();
            let ids = g.items.iter().map(|(id, _)| id.clone()).collect();
            let frame = ClientFrame::Settle {
                verb: g.verb,
                ids: SettleIds::Many(ids),
                state: None,
                delay_ms: g.delay_ms,
                reference: Some(Value::from(r)),
            };
            self.sent.insert(r, Sent { verb: g.verb, items: g.items, at: now });
            out.push(Outgoing { frame, reference: r });
        }
        out
    }

    /// An `ok` to a frame with `ids`: each settle is answered. `None` if the ref is not
    /// one of ours. A touch's deadline is estimated as send time + `handler_timeout_ms`
    /// (never later than the server's).
    pub fn answered(
        &mut self,
        reference: u64,
        missing: &[String],
        handler_timeout_ms: u64,
    ) -> Option<Vec<Action>> {
        let sent = self.sent.remove(reference)?;
        let deadline = (sent.verb == Settle::Touch).then_some(sent.at + handler_timeout_ms);
        Some(
            sent.items
                .into_iter()
                .map(|(id, r)| {
                    if missing.contains(&id) {
                        not_found(r, &id)
                    } else {
                        Action::Answer { reference: r, ok: true, code: None, message: None, deadline }
                    }
                })
                .collect(),
        )
    }

    /// An `error` to a frame with `ids`: every settle in it fails the same way. Returns the
    /// answers and the ids that were taken out of flight (fin, req) and must go back.
    pub fn refused(
        &mut self,
        reference: u64,
        code: &str,
        message: &str,
    ) -> Option<(Vec<Action>, Vec<String>)> {
        let sent = self.sent.remove(reference)?;
        let finishing = sent.verb != Settle::Touch;
        let mut back = Vec::new();
        let answers = sent
            .items
            .into_iter()
            .map(|(id, r)| {
                if finishing && code != "not_found" {
                    back.push(id);
                }
                Action::refused(r, code, message.to_owned())
            })
            .collect();
        Some((answers, back))
    }

    /// The socket closed: every settle waiting or sent fails with `disconnected`.
    pub fn drop_all(&mut self) -> Vec<Action> {
        let waiting = std::mem::take(&mut self.groups).into_iter().flat_map(|g| g.items);
        let sent = self.sent.take().flat_map(|(_, s)| s.items);
        waiting
            .chain(sent)
            .map(|(_, r)| Action::refused(r, "disconnected", "the connection closed before an answer".into()))
            .collect()
    }
}

fn not_found(reference: u64, id: &str) -> Action {
    Action::refused(
        reference,
        "not_found",
        format!("message {id} is not in flight (already settled, or its deadline passed)"),
    )
}
