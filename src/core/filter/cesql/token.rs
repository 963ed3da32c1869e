//! The tokens of CESQL: blanks, words, symbols, and string and integer literals.
//!
//! Owns: reading one token at a time and the parser's error type. Must not touch: the
//! grammar's structure (precedence, nesting), which is the parser's.

use winnow::ascii::multispace0;
use winnow::error::{AddContext, ParserError};
use winnow::stream::Stream;
use winnow::token::{any, one_of, take_while};
use winnow::Parser;

use super::ast::BinaryOp;

/// Where and why the grammar stopped.
#[derive(Debug)]
pub(super) struct Syntax {
    /// Bytes of input left where the error was found.
    pub(super) remaining: usize,
    /// What was expected there ("" until a context names it).
    pub(super) expected: &'static str,
}

impl<'i> ParserError<&'i str> for Syntax {
    type Inner = Self;

    fn from_input(input: &&'i str) -> Self {
        Syntax { remaining: input.len(), expected: "" }
    }

    fn into_inner(self) -> std::result::Result<Self, Self> {
        Ok(self)
    }
}

impl<'i> AddContext<&'i str, &'static str> for Syntax {
    fn add_context(
        mut self,
        _: &&'i str,
        _: &<&'i str as Stream>::Checkpoint,
        context: &'static str,
    ) -> Self {
        // The innermost context is the most precise one.
        if self.expected.is_empty() {
            self.expected = context;
        }
        self
    }
}

/// What every token and grammar parser returns.
pub(super) type Result<T> = std::result::Result<T, Syntax>;

/// An error at `input`, expecting what `expected` says.
pub(super) fn fail(input: &str, expected: &'static str) -> Syntax {
    Syntax { remaining: input.len(), expected }
}

/// The start of what follows an error, for the message.
pub(super) fn snippet(rest: &str) -> &str {
    rest.char_indices().nth(16).map_or(rest, |(i, _)| &rest[..i])
}

/// Skips spaces, tabs, carriage returns and newlines.
pub(super) fn ws(i: &mut &str) {
    // multispace0 accepts an empty run, so it cannot fail.
    let _ = multispace0::<_, Syntax>.parse_next(i);
}

/// A run of letters, digits and underscores: keywords, attributes, function names and
/// integer literals all start as one.
pub(super) fn word<'i>(i: &mut &'i str) -> Result<&'i str> {
    take_while(1.., |c: char| c.is_ascii_alphanumeric() || c == '_').parse_next(i)
}

/// Consumes `c`, or fails expecting it.
pub(super) fn expect(i: &mut &str, c: char, expected: &'static str) -> Result<()> {
    match i.strip_prefix(c) {
        Some(rest) => {
            *i = rest;
            Ok(())
        }
        None => Err(fail(i, expected)),
    }
}

/// Consumes the keyword (any case) if it is the next word.
pub(super) fn keyword(i: &mut &str, keyword: &str) -> bool {
    let start = *i;
    match word(i) {
        Ok(w) if w.eq_ignore_ascii_case(keyword) => true,
        _ => {
            *i = start;
            false
        }
    }
}

/// Consumes the first operator symbol of `table` that comes next.
pub(super) fn symbol(i: &mut &str, table: &[(&str, BinaryOp)]) -> Option<BinaryOp> {
    table.iter().find_map(|(text, op)| {
        let rest = i.strip_prefix(text)?;
        *i = rest;
        Some(*op)
    })
}

/// If `rest` starts with a word of digits, that integer with its sign, and what follows.
pub(super) fn signed_digits(rest: &str, negative: bool) -> Result<Option<(&str, i32)>> {
    let mut after = rest;
    let Ok(digits) = word(&mut after) else { return Ok(None) };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let magnitude: i64 = digits.parse().unwrap_or(i64::MAX);
    let value = if negative { -magnitude } else { magnitude };
    match i32::try_from(value) {
        Ok(n) => Ok(Some((after, n))),
        Err(_) => Err(fail(rest, "an integer literal within 32 bits (-2147483648 to 2147483647)")),
    }
}

/// `'...'` or `"..."`. A backslash escapes either quote or itself; before any other
/// character it stays, so `LIKE` sees its own `\%` and `\_`. A doubled delimiter is one
/// delimiter, as in SQL.
pub(super) fn string_literal(i: &mut &str) -> Result<String> {
    let quote = one_of::<_, _, Syntax>(['\'', '"']).parse_next(i)?;
    let mut text = String::new();
    loop {
        let c = any::<_, Syntax>.context("a closing quote").parse_next(i)?;
        if c == quote {
            match i.strip_prefix(quote) {
                Some(rest) => *i = rest,
                None => return Ok(text),
            }
            text.push(quote);
        } else if c == '\\' {
            match i.chars().next() {
                Some(next @ ('\'' | '"' | '\\')) => {
                    *i = &i[1..];
                    text.push(next);
                }
                _ => text.push('\\'),
            }
        } else {
            text.push(c);
        }
    }
}
