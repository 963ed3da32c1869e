//! A small FIFO cache of recent event bodies, so fan-out to many channels and consumers
//! reads each event from SQLite at most once while it is hot.

use crate::core::Seq;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

const MAX_ENTRIES: usize = 4_096;
const MAX_BYTES: usize = 16 << 20;

/// Recent event bodies by seq.
#[derive(Default)]
pub struct BodyCache {
    map: HashMap<Seq, Rc<str>>,
    order: VecDeque<Seq>,
    bytes: usize,
}

impl BodyCache {
    /// The body of `seq`, if cached.
    pub fn get(&self, seq: Seq) -> Option<Rc<str>> {
        self.map.get(&seq).cloned()
    }

    /// Caches a body and returns it.
    pub fn put(&mut self, seq: Seq, body: String) -> Rc<str> {
        let body: Rc<str> = body.into();
        if self.map.insert(seq, body.clone()).is_none() {
            self.order.push_back(seq);
            self.bytes += body.len();
        }
        while self.order.len() > MAX_ENTRIES || self.bytes > MAX_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(b) = self.map.remove(&old) {
                self.bytes -= b.len();
            }
        }
        body
    }

    /// Forgets everything (topic deleted).
    pub fn clear(&mut self) {
        *self = BodyCache::default();
    }
}
