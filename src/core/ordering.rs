//! Ordering keys: events with the same key are delivered one at a time, in seq order,
//! per channel. A message waits ("parked") while an earlier one with its key is in
//! flight, ready, deferred or parked; a dead letter no longer blocks its key.
//!
//! What blocks is answered from the in-flight messages in memory and, for messages that
//! wait in storage, an indexed lookup there (skipped while the channel has no keyed row
//! waiting), so memory does not grow with the number of keys.

use super::broker::Broker;
use super::store::{CheckpointWrite, RowState, Store, StoreResult};
use super::Seq;

impl Broker {
    /// Whether a message with `key` at `seq` must wait for an earlier one of its key.
    pub(super) fn key_blocked(&self, store: &dyn Store, ch: u32, key: &str, seq: Seq) -> StoreResult<bool> {
        let Some(c) = self.channels.get(&ch) else { return Ok(false) };
        if c.key_in_flight(key) && c.in_flight.range(..seq).any(|(_, f)| f.key.as_deref() == Some(key)) {
            return Ok(true);
        }
        if c.counts.keyed_waiting == 0 {
            return Ok(false);
        }
        store.key_waiting_before(ch, key, seq)
    }

    /// A message with `key` left (finished or dead): the lowest one still waiting with
    /// that key may go, if it was parked and nothing earlier of its key is in flight.
    pub(super) fn unblock(&mut self, store: &mut dyn Store, ch: u32, key: &str) -> StoreResult<()> {
        let Some(c) = self.channels.get(&ch) else { return Ok(()) };
        if c.counts.keyed_waiting == 0 || c.counts.parked == 0 {
            return Ok(());
        }
        let Some(mut m) = store.next_of_key(ch, key, 0)? else { return Ok(()) };
        if m.state != RowState::Parked {
            return Ok(());
        }
        let earlier_in_flight = c.in_flight.range(..m.seq).any(|(_, f)| f.key.as_deref() == Some(key));
        if earlier_in_flight {
            return Ok(());
        }
        m.state = RowState::Ready;
        store.put_message(&m, &CheckpointWrite::Keep)?;
        if let Some(c) = self.channels.get_mut(&ch) {
            c.counts.parked = c.counts.parked.saturating_sub(1);
            c.add_ready(m.seq, (&m).into());
        }
        Ok(())
    }
}
