//! Message ids: the opaque per-topic id a delivery is settled by.
//!
//! An id is the message's `seq` as 16 lower-case hex digits (like nsqd's 16-byte ids), so
//! the Durable Object maps an id back to its message without an index. Clients must treat
//! it as opaque.

/// The id of the message with this `seq`.
pub fn message_id(seq: u64) -> String {
    format!("{seq:016x}")
}

/// The `seq` of a message id, if `id` is one this bus made.
pub fn parse_message_id(id: &str) -> Option<u64> {
    if id.len() != 16 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(id, 16).ok().filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(message_id(26), "000000000000001a");
        assert_eq!(parse_message_id(&message_id(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_message_id("1a"), None);
        assert_eq!(parse_message_id("000000000000000g"), None);
        assert_eq!(parse_message_id("0000000000000000"), None);
        assert_eq!(parse_message_id("+00000000000001a"), None);
    }
}
