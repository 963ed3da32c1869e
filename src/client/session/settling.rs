//! Settling from the subscriber's side: fin / touch / req / shelve and `respond`, each
//! checked against what is in flight on this socket, sent at once or coalesced into
//! frames with `ids` (`acks.rs`) when the server takes them.

use super::{Action, Pending, Phase, Session};
use crate::client::acks::Acks;
use crate::proto::codec::{check_json_text, respond_frame, with_member};
use crate::proto::frame::{ClientFrame, Settle, SettleIds};
use serde_json::Value;

impl Session {
    /// fin / touch / req / shelve of a message. Returns the `ref` whose [`Action::Answer`]
    /// settles the call, and what to do now. `state` is JSON text. Stateless fin, touch
    /// and req wait for the next flush ([`Session::next_timer`]) when the server takes
    /// frames with `ids`.
    pub fn settle(
        &mut self,
        now: u64,
        verb: Settle,
        id: &str,
        state: Option<&str>,
        delay_ms: Option<u64>,
    ) -> (u64, Vec<Action>) {
        if let Some(Err(e)) = state.map(check_json_text) {
            let r = self.take_ref();
            return (r, vec![Action::refused(r, "invalid_request", format!("state is not JSON: {e}"))]);
        }
        let finishing = verb != Settle::Touch;
        let (r, check) = self.claim(id, finishing);
        if let Some(refused) = check {
            return (r, vec![refused]);
        }
        if self.server_batch && Acks::batchable(verb, state.is_some()) {
            if self.acks.add(verb, delay_ms, id, r) {
                return (r, self.flush(now));
            }
            return (r, Vec::new());
        }
        self.pending.insert(r, Pending { returns: finishing.then(|| id.to_owned()) });
        let frame = ClientFrame::Settle {
            verb,
            ids: SettleIds::One(id.to_owned()),
            state: None,
            delay_ms,
            reference: Some(Value::from(r)),
        }
        .encode();
        let frame = match state {
            Some(s) => with_member(frame, "state", s),
            None => frame,
        };
        // Settles still waiting go first: frames keep the order of the calls.
        let mut out = self.flush(now);
        out.push(Action::Send { frame });
        (r, out)
    }

    /// Sends the coalesced settles now.
    pub fn flush(&mut self, now: u64) -> Vec<Action> {
        if self.acks.idle() {
            return Vec::new();
        }
        let mut next = self.next_ref;
        let frames = self.acks.flush(now, || {
            let r = next;
            next += 1;
            r
        });
        self.next_ref = next;
        frames
            .into_iter()
            .map(|o| {
                if let ClientFrame::Settle { ids: SettleIds::One(id), verb, .. } = &o.frame {
                    let returns = (*verb != Settle::Touch).then(|| id.clone());
                    self.pending.insert(o.reference, Pending { returns });
                }
                Action::Send { frame: o.frame.encode() }
            })
            .collect()
    }

    /// `respond` to a message delivered with `reply: true` (also finishes it).
    pub fn respond(
        &mut self,
        now: u64,
        id: &str,
        data: &str,
        datacontenttype: Option<&str>,
    ) -> (u64, Vec<Action>) {
        if let Err(e) = check_json_text(data) {
            let r = self.take_ref();
            return (r, vec![Action::refused(r, "invalid_request", format!("data is not JSON: {e}"))]);
        }
        let (r, check) = self.claim(id, true);
        if let Some(refused) = check {
            return (r, vec![refused]);
        }
        self.pending.insert(r, Pending { returns: Some(id.to_owned()) });
        let frame = respond_frame(id, data, datacontenttype, r);
        let mut out = self.flush(now);
        out.push(Action::Send { frame });
        (r, out)
    }

    /// Takes a ref for a frame about message `id`, checking that the message is in flight
    /// on this socket (a message of a lost socket is the server's to redeliver: settling
    /// it now could only be refused). `finishing` takes it out of flight at once, so a
    /// second settle is refused here and credit is counted right.
    fn claim(&mut self, id: &str, finishing: bool) -> (u64, Option<Action>) {
        let r = self.take_ref();
        let refused = if self.link.phase != Phase::Live {
            Some(Action::refused(
                r,
                "disconnected",
                format!("message {id} was lost with the connection; it will be redelivered"),
            ))
        } else if !self.in_flight.contains(id) {
            Some(Action::refused(r, "not_found", format!("message {id} is not in flight (already settled?)")))
        } else {
            None
        };
        if refused.is_none() && finishing {
            self.in_flight.remove(id);
        }
        (r, refused)
    }
}
