//! The built-in functions (CESQL 1.0 section 3.5), plus the casting functions `INT`,
//! `BOOL` and `STRING` that the spec's casting rules name and the TCK tests.
//!
//! Owns: dispatch by name (case-insensitive) and arity, the casts of arguments to
//! parameter types, and each function's value and error. Must not touch: events,
//! evaluation order (arguments arrive evaluated).

use std::borrow::Cow;

use super::eval::{Failed, Outcome};
use super::value::{Type, Val};
use super::ErrorKind;

/// A built-in function, resolved with its arity at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Function {
    Length,
    Concat,
    ConcatWs,
    Lower,
    Upper,
    Trim,
    Left,
    Right,
    /// `SUBSTRING(x, pos)`.
    Substring,
    /// `SUBSTRING(x, pos, len)`.
    SubstringLen,
    Abs,
    Int,
    Bool,
    String,
}

impl Function {
    /// The function of that name (any case) taking that many arguments.
    pub(super) fn resolve(name: &str, arity: usize) -> Option<Function> {
        let name = name.to_ascii_uppercase();
        Some(match (name.as_str(), arity) {
            ("LENGTH", 1) => Function::Length,
            ("CONCAT", _) => Function::Concat,
            ("CONCAT_WS", n) if n >= 1 => Function::ConcatWs,
            ("LOWER", 1) => Function::Lower,
            ("UPPER", 1) => Function::Upper,
            ("TRIM", 1) => Function::Trim,
            ("LEFT", 2) => Function::Left,
            ("RIGHT", 2) => Function::Right,
            ("SUBSTRING", 2) => Function::Substring,
            ("SUBSTRING", 3) => Function::SubstringLen,
            ("ABS", 1) => Function::Abs,
            ("INT", 1) => Function::Int,
            ("BOOL", 1) => Function::Bool,
            ("STRING", 1) => Function::String,
            _ => return None,
        })
    }

    /// The return type.
    pub(super) fn result(self) -> Type {
        match self {
            Function::Length | Function::Abs | Function::Int => Type::Integer,
            Function::Bool => Type::Boolean,
            _ => Type::String,
        }
    }

    /// Calls the function on evaluated arguments (their number was checked by
    /// [`Function::resolve`]).
    pub(super) fn call(self, args: Vec<Val<'_>>) -> Outcome<'_> {
        let mut args = Args { values: args.into_iter(), error: None };
        let value = match self {
            Function::Length => {
                let n = args.text().chars().count();
                Val::Int(i32::try_from(n).unwrap_or(i32::MAX))
            }
            Function::Concat | Function::ConcatWs => {
                let delimiter = if self == Function::ConcatWs { args.text() } else { Cow::Borrowed("") };
                let parts: Vec<Cow<'_, str>> = args.rest().collect();
                let len = parts.iter().map(|p| p.len()).sum::<usize>()
                    + delimiter.len() * parts.len().saturating_sub(1);
                if len > MAX_STRING_BYTES {
                    // Longer than any event: built, it could take the object's memory.
                    args.fail(ErrorKind::FunctionEvaluation);
                    return args.finish(Val::Str(Cow::Borrowed("")));
                }
                Val::Str(Cow::Owned(parts.join(delimiter.as_ref())))
            }
            Function::Lower => Val::Str(Cow::Owned(args.text().to_lowercase())),
            Function::Upper => Val::Str(Cow::Owned(args.text().to_uppercase())),
            Function::Trim => Val::Str(match args.text() {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
                Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
            }),
            Function::Left | Function::Right => {
                let (x, y) = (args.text(), args.int());
                let Ok(y) = usize::try_from(y) else {
                    args.fail(ErrorKind::FunctionEvaluation);
                    return args.finish(Val::Str(x));
                };
                let len = x.chars().count();
                let start = if self == Function::Left { 0 } else { len.saturating_sub(y) };
                Val::Str(char_slice(x, start, y))
            }
            Function::Substring | Function::SubstringLen => {
                substring(&mut args, self == Function::SubstringLen)
            }
            Function::Abs => {
                let n = args.int();
                Val::Int(n.checked_abs().unwrap_or_else(|| {
                    // |i32::MIN| does not fit: the spec says i32::MAX and a MathError.
                    args.fail(ErrorKind::Math);
                    i32::MAX
                }))
            }
            Function::Int => {
                let v = args.any();
                Val::Int(v.to_int().unwrap_or_else(|| {
                    args.fail(ErrorKind::Cast);
                    0
                }))
            }
            Function::Bool => {
                let v = args.any();
                Val::Bool(v.to_bool_explicit().unwrap_or_else(|| {
                    args.fail(ErrorKind::Cast);
                    false
                }))
            }
            Function::String => Val::Str(args.text()),
        };
        args.finish(value)
    }
}

/// `SUBSTRING(x, pos)` and `SUBSTRING(x, pos, len)`; positions count characters from 1,
/// or from the end when negative.
fn substring<'a>(args: &mut Args<'a>, with_len: bool) -> Val<'a> {
    let x = args.text();
    let pos = i64::from(args.int());
    let len = with_len.then(|| i64::from(args.int()));
    let count = x.chars().count() as i64;
    if pos > count || pos < -count || len.is_some_and(|l| l < 0) {
        args.fail(ErrorKind::FunctionEvaluation);
        return Val::Str(Cow::Borrowed(""));
    }
    if pos == 0 {
        return Val::Str(Cow::Borrowed(""));
    }
    let start = if pos > 0 { pos - 1 } else { count + pos };
    let take = len.map_or(count - start, |l| l.min(count - start));
    // Both are within 0..=count, which came from a usize.
    Val::Str(char_slice(x, start as usize, take as usize))
}

/// `count` characters of `s` from character `start`, borrowing when `s` does.
fn char_slice(s: Cow<'_, str>, start: usize, count: usize) -> Cow<'_, str> {
    let begin = byte_index(&s, start);
    let end = begin + byte_index(&s[begin..], count);
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(&b[begin..end]),
        Cow::Owned(o) => Cow::Owned(o[begin..end].to_owned()),
    }
}

/// The byte index of character `n` (the length when there are fewer).
fn byte_index(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

/// Longest string `CONCAT` and `CONCAT_WS` make (1 MiB, the longest event the bus takes by
/// default): a longer one is an evaluation error.
const MAX_STRING_BYTES: usize = 1 << 20;

/// A function's arguments, cast to parameter types one by one; the first cast or
/// evaluation error is kept and returned with the function's value.
struct Args<'a> {
    values: std::vec::IntoIter<Val<'a>>,
    error: Option<ErrorKind>,
}

impl<'a> Args<'a> {
    fn any(&mut self) -> Val<'a> {
        // The arity was checked at parse time; `false` only keeps this total.
        self.values.next().unwrap_or(Val::Bool(false))
    }

    fn text(&mut self) -> Cow<'a, str> {
        self.any().into_text()
    }

    fn int(&mut self) -> i32 {
        let v = self.any();
        v.to_int().unwrap_or_else(|| {
            self.fail(ErrorKind::Cast);
            0
        })
    }

    /// The remaining arguments as text.
    fn rest(&mut self) -> impl Iterator<Item = Cow<'a, str>> + '_ {
        self.values.by_ref().map(Val::into_text)
    }

    fn fail(&mut self, kind: ErrorKind) {
        self.error.get_or_insert(kind);
    }

    fn finish(self, value: Val<'a>) -> Outcome<'a> {
        match self.error {
            None => Ok(value),
            Some(kind) => Err(Failed { value, kind }),
        }
    }
}
