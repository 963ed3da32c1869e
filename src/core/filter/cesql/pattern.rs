//! `LIKE` patterns (CESQL 1.0 section 3.4.3): `%` is any run of characters, `_` is one
//! character, `\%`, `\_` and `\\` are those characters literally, and anything else is
//! itself (case sensitive).
//!
//! Owns: compiling a pattern once, at parse time, and matching it against a string.
//! Must not touch: casting (the operand arrives as text), events.
//!
//! A pattern is split at its `%`s into segments; the first is anchored at the start, the
//! last at the end, and each one between is matched at its leftmost place after the one
//! before (leftmost is always safe, since a `%` absorbs what lies between). So matching
//! never backtracks: a segment without `_` is one substring search, and the worst case
//! (segments full of `_`) is the attribute's length times the pattern's.

/// One pattern character: `None` is `_`.
type Unit = Option<char>;

/// A run of the pattern between two `%`s.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// No `_`: a plain substring.
    Literal(String),
    /// With at least one `_`.
    Wild(Vec<Unit>),
}

impl Segment {
    fn new(units: Vec<Unit>) -> Segment {
        if units.iter().all(Option::is_some) {
            Segment::Literal(units.into_iter().flatten().collect())
        } else {
            Segment::Wild(units)
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Segment::Literal(s) => s.is_empty(),
            Segment::Wild(u) => u.is_empty(),
        }
    }

    /// Length in characters.
    fn chars(&self) -> usize {
        match self {
            Segment::Literal(s) => s.chars().count(),
            Segment::Wild(u) => u.len(),
        }
    }

    /// The byte length of the match if the segment matches `text` at its start.
    fn match_at(&self, text: &str) -> Option<usize> {
        match self {
            Segment::Literal(s) => text.starts_with(s.as_str()).then_some(s.len()),
            Segment::Wild(units) => {
                let mut chars = text.char_indices();
                for unit in units {
                    match (chars.next(), unit) {
                        (Some((_, c)), Some(want)) if c == *want => {}
                        (Some(_), None) => {}
                        _ => return None,
                    }
                }
                Some(chars.next().map_or(text.len(), |(i, _)| i))
            }
        }
    }

    /// The leftmost match in `text`: (start, end) in bytes.
    fn find(&self, text: &str) -> Option<(usize, usize)> {
        match self {
            Segment::Literal(s) => text.find(s.as_str()).map(|at| (at, at + s.len())),
            Segment::Wild(_) => text
                .char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .find_map(|i| self.match_at(&text[i..]).map(|len| (i, i + len))),
        }
    }
}

/// A compiled `LIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    /// Split at each unescaped `%`: one segment means the pattern has no `%`.
    segments: Vec<Segment>,
}

impl Pattern {
    /// Compiles the text of a pattern's string literal.
    pub(super) fn new(text: &str) -> Pattern {
        let mut segments = Vec::new();
        let mut units = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '%' => segments.push(Segment::new(std::mem::take(&mut units))),
                '_' => units.push(None),
                '\\' => match chars.peek() {
                    Some(&next @ ('%' | '_' | '\\')) => {
                        chars.next();
                        units.push(Some(next));
                    }
                    // A backslash before anything else is a backslash.
                    _ => units.push(Some('\\')),
                },
                other => units.push(Some(other)),
            }
        }
        segments.push(Segment::new(units));
        Pattern { segments }
    }

    /// Whether `text` matches the whole pattern.
    pub(super) fn matches(&self, text: &str) -> bool {
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            // No `%`: the one segment must cover the text exactly.
            return first.match_at(text) == Some(text.len());
        };
        let Some(mut at) = first.match_at(text) else {
            return false;
        };
        for segment in middle.iter().filter(|s| !s.is_empty()) {
            match segment.find(&text[at..]) {
                Some((_, end)) => at += end,
                None => return false,
            }
        }
        if last.is_empty() {
            return true;
        }
        // The last segment covers exactly the text's last `n` characters.
        let n = last.chars();
        let start = match n {
            0 => text.len(),
            _ => match text.char_indices().rev().nth(n - 1) {
                Some((i, _)) => i,
                None => return false,
            },
        };
        start >= at && last.match_at(&text[start..]) == Some(text.len() - start)
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn like(text: &str, pattern: &str) -> bool {
        Pattern::new(pattern).matches(text)
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(like("abc", "abc"));
        assert!(!like("abcd", "abc"));
        assert!(like("", ""));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("order.created", "order.%"));
        assert!(like("x.error", "%.error"));
        assert!(like("abc", "a%b%c"));
        assert!(like("azzzbzzzc", "a%b%c"));
        assert!(!like("a", "a%a"));
        assert!(like("aa", "a%a"));
        assert!(like("azbzc", "a_b_c"));
        assert!(!like("abc", "a_b_c"));
        assert!(like("a_b", "a\\_b"));
        assert!(!like("azb", "a\\_b"));
        assert!(like("a%", "a\\%"));
        assert!(like("a\\b", "a\\\\b"));
        assert!(like("ab\\c", "ab\\c"));
        assert!(like("x_yz_", "%_y%_"));
        assert!(like("héllo wörld", "h_llo%w_rld"));
        assert!(like("ab", "%%a%%b%%"));
    }
}
