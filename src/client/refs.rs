//! The client's two small collections: frames out by `ref`, and the ids of messages in
//! flight on a socket.
//!
//! Both stay small (a socket's unanswered frames; at most `max_in_flight` messages), so
//! they are kept in order in a [`VecDeque`] rather than a `BTreeMap`: each `BTreeMap`
//! instantiation adds several KB of node code to the client's wasm, and the client's
//! main entry is held to a size budget (`bench/RESULTS.md`).

use std::collections::VecDeque;

/// Values keyed by the `ref` of the frame they wait on, in ref order. Refs are taken
/// from a counter, so an insert is almost always at the end; answers mostly come in
/// sending order, so a removal is mostly at the front.
#[derive(Debug)]
pub struct RefMap<T>(VecDeque<(u64, T)>);

impl<T> Default for RefMap<T> {
    fn default() -> Self {
        RefMap(VecDeque::new())
    }
}

impl<T> RefMap<T> {
    fn find(&self, r: u64) -> Result<usize, usize> {
        self.0.binary_search_by_key(&r, |(k, _)| *k)
    }

    /// Sets the value of `r`.
    pub fn insert(&mut self, r: u64, value: T) {
        match self.0.back() {
            Some((last, _)) if *last >= r => match self.find(r) {
                Ok(i) => self.0[i].1 = value,
                Err(i) => self.0.insert(i, (r, value)),
            },
            _ => self.0.push_back((r, value)),
        }
    }

    /// Takes the value of `r` out.
    pub fn remove(&mut self, r: u64) -> Option<T> {
        let i = self.find(r).ok()?;
        self.0.remove(i).map(|(_, v)| v)
    }

    /// Whether `r` has a value.
    pub fn contains(&self, r: u64) -> bool {
        self.find(r).is_ok()
    }

    /// The values, in ref order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|(_, v)| v)
    }

    /// The values, in ref order, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    /// Everything, in ref order, leaving the map empty.
    pub fn take(&mut self) -> impl DoubleEndedIterator<Item = (u64, T)> {
        std::mem::take(&mut self.0).into_iter()
    }
}

/// The ids of the messages in flight on one socket, oldest delivery first. Lookups are
/// linear in the count (bounded by `max_in_flight`); settles mostly come oldest first,
/// which makes their removal cheap.
#[derive(Debug, Default)]
pub struct InFlight(VecDeque<String>);

impl InFlight {
    fn find(&self, id: &str) -> Option<usize> {
        self.0.iter().position(|x| x == id)
    }

    /// A delivery: `id` is in flight (once, however often it is delivered).
    pub fn insert(&mut self, id: String) {
        if self.find(&id).is_none() {
            self.0.push_back(id);
        }
    }

    /// Whether `id` is in flight.
    pub fn contains(&self, id: &str) -> bool {
        self.find(id).is_some()
    }

    /// `id` is settled; whether it was in flight.
    pub fn remove(&mut self, id: &str) -> bool {
        self.find(id).and_then(|i| self.0.remove(i)).is_some()
    }

    /// How many are in flight.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// All of them, oldest delivery first, leaving none.
    pub fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_in_any_order_are_kept_sorted() {
        let mut m = RefMap::default();
        for r in [3, 1, 7, 5, 9] {
            m.insert(r, r * 10);
        }
        m.insert(5, 55);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [10, 30, 55, 70, 90]);
        assert_eq!(m.remove(7), Some(70));
        assert_eq!(m.remove(7), None);
        assert!(m.contains(1) && !m.contains(2));
        assert_eq!(m.take().collect::<Vec<_>>(), [(1, 10), (3, 30), (5, 55), (9, 90)]);
        assert_eq!(m.values().count(), 0);
    }

    #[test]
    fn in_flight_ids_are_a_set_in_delivery_order() {
        let mut f = InFlight::default();
        for id in ["b", "a", "c", "a"] {
            f.insert(id.to_owned());
        }
        assert_eq!(f.len(), 3);
        assert!(f.remove("a") && !f.remove("a"));
        assert!(f.contains("c") && !f.contains("a"));
        assert_eq!(f.take(), ["b", "c"]);
        assert_eq!(f.len(), 0);
    }
}
