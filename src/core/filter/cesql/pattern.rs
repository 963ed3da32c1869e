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

    /// The byte length of the match if the segment matches `text` at its start; each
    /// `_`-segment character compared takes a step from `steps` (`Err` once none is left).
    fn match_at(&self, text: &str, steps: &mut usize) -> Result<Option<usize>, Exhausted> {
        match self {
            Segment::Literal(s) => Ok(text.starts_with(s.as_str()).then_some(s.len())),
            Segment::Wild(units) => {
                let mut chars = text.char_indices();
                for unit in units {
                    *steps = steps.checked_sub(1).ok_or(Exhausted)?;
                    match (chars.next(), unit) {
                        (Some((_, c)), Some(want)) if c == *want => {}
                        (Some(_), None) => {}
                        _ => return Ok(None),
                    }
                }
                Ok(Some(chars.next().map_or(text.len(), |(i, _)| i)))
            }
        }
    }

    /// The leftmost match in `text`: (start, end) in bytes.
    fn find(&self, text: &str, steps: &mut usize) -> Result<Option<(usize, usize)>, Exhausted> {
        match self {
            Segment::Literal(s) => Ok(text.find(s.as_str()).map(|at| (at, at + s.len()))),
            Segment::Wild(_) => {
                for i in text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len())) {
                    if let Some(len) = self.match_at(&text[i..], steps)? {
                        return Ok(Some((i, i + len)));
                    }
                }
                Ok(None)
            }
        }
    }
}

/// Most `_`-segment character comparisons one match may take: a pattern of thousands of
/// `_` against an attribute of a megabyte would otherwise take billions, for every event
/// and channel. Past it the match is an evaluation error (so no match).
pub(super) const LIKE_STEPS: usize = 1 << 20;

/// A match ran out of [`LIKE_STEPS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exhausted;

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

    /// Whether `text` matches the whole pattern; `None` if that takes more than
    /// [`LIKE_STEPS`].
    pub(super) fn matches(&self, text: &str) -> Option<bool> {
        let mut steps = LIKE_STEPS;
        self.matches_within(text, &mut steps).ok()
    }

    fn matches_within(&self, text: &str, steps: &mut usize) -> Result<bool, Exhausted> {
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return Ok(text.is_empty()),
        };
        let Some((last, middle)) = rest.split_last() else {
            // No `%`: the one segment must cover the text exactly.
            return Ok(first.match_at(text, steps)? == Some(text.len()));
        };
        let Some(mut at) = first.match_at(text, steps)? else {
            return Ok(false);
        };
        for segment in middle.iter().filter(|s| !s.is_empty()) {
            match segment.find(&text[at..], steps)? {
                Some((_, end)) => at += end,
                None => return Ok(false),
            }
        }
        if last.is_empty() {
            return Ok(true);
        }
        // The last segment covers exactly the text's last `n` characters.
        let n = last.chars();
        let start = match n {
            0 => text.len(),
            _ => match text.char_indices().rev().nth(n - 1) {
                Some((i, _)) => i,
                None => return Ok(false),
            },
        };
        Ok(start >= at && last.match_at(&text[start..], steps)? == Some(text.len() - start))
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn like(text: &str, pattern: &str) -> bool {
        Pattern::new(pattern).matches(text).expect("within the step budget")
    }

    #[test]
    fn a_match_that_would_take_too_many_steps_is_no_answer() {
        let text = "a".repeat(100_000);
        let pattern = format!("%{}b%", "_".repeat(2_000));
        assert_eq!(Pattern::new(&pattern).matches(&text), None, "2,000 x 100,000 comparisons");
        assert_eq!(Pattern::new("%_b%").matches(&text), Some(false), "cheap ones still answer");
        assert_eq!(Pattern::new(&format!("%{}", "_".repeat(2_000))).matches(&text), Some(true));
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
