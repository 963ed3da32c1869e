//! Topic and channel names: checked once when made (`docs/PROTOCOL.md`, "Conventions").

use super::error::{ApiError, ErrorCode};
use std::fmt;

/// Suffix that makes a channel ephemeral.
pub const EPHEMERAL_SUFFIX: &str = "#ephemeral";

fn valid_base(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'[' | b']'))
}

/// A valid topic name: `^[A-Za-z0-9._\-\[\]]{1,128}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(String);

impl TopicName {
    /// Checks `name` against the grammar.
    pub fn parse(name: &str) -> Result<Self, ApiError> {
        if valid_base(name) {
            Ok(TopicName(name.to_owned()))
        } else {
            Err(ApiError::new(
                ErrorCode::InvalidName,
                "topic names are 1-128 characters of A-Z a-z 0-9 . _ - [ ]",
            ))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid channel name: the topic grammar, optionally followed by `#ephemeral`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelName(String);

impl ChannelName {
    /// Checks `name` against the grammar.
    pub fn parse(name: &str) -> Result<Self, ApiError> {
        let base = name.strip_suffix(EPHEMERAL_SUFFIX).unwrap_or(name);
        if valid_base(base) {
            Ok(ChannelName(name.to_owned()))
        } else {
            Err(ApiError::new(
                ErrorCode::InvalidName,
                "channel names are 1-128 characters of A-Z a-z 0-9 . _ - [ ], optionally followed by #ephemeral",
            ))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the channel is deleted with its last consumer.
    pub fn is_ephemeral(&self) -> bool {
        self.0.ends_with(EPHEMERAL_SUFFIX)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in ["a", "orders.created", "[DEV]OnPing", "a-b_c.d", &"x".repeat(128)] {
            assert!(TopicName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a@b", "a/b", "..x/", "a\0", "a b", "é", &"x".repeat(129), "a#ephemeral"] {
            assert_eq!(TopicName::parse(bad).unwrap_err().code, ErrorCode::InvalidName, "{bad:?}");
        }
        assert!(ChannelName::parse("c#ephemeral").unwrap().is_ephemeral());
        assert!(!ChannelName::parse("c").unwrap().is_ephemeral());
        assert!(ChannelName::parse("#ephemeral").is_err());
        assert!(ChannelName::parse("c#ephemeral#ephemeral").is_err());
    }
}
