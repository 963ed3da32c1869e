//! CESQL values and the casts between them (CESQL 1.0 sections 3.1 and 3.7).
//!
//! Owns: the three primitive types, their zero values, and the implicit and explicit
//! casts. Must not touch: events, parsing, operators.

use std::borrow::Cow;
use std::fmt;

/// A CESQL value: one of the three primitive types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// _Boolean_.
    Boolean(bool),
    /// _Integer_: 32-bit signed.
    Integer(i32),
    /// _String_: also how URIs, timestamps and any other attribute type are represented.
    String(String),
}

impl Value {
    /// The value as text, the way the Subscriptions API dialects compare it: a string as
    /// it is, an integer in base 10, a boolean as `true` or `false` (the `STRING` cast).
    pub fn as_text(&self) -> Cow<'_, str> {
        Val::from(self).into_text()
    }

    /// The value's type.
    pub fn kind(&self) -> Type {
        match self {
            Value::Boolean(_) => Type::Boolean,
            Value::Integer(_) => Type::Integer,
            Value::String(_) => Type::String,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Integer(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Integer(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

/// A CESQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// _Boolean_.
    Boolean,
    /// _Integer_.
    Integer,
    /// _String_.
    String,
}

impl Type {
    /// The type's zero value, returned with an error (`false`, `0`, `""`).
    pub(super) fn zero(self) -> Val<'static> {
        match self {
            Type::Boolean => Val::Bool(false),
            Type::Integer => Val::Int(0),
            Type::String => Val::Str(Cow::Borrowed("")),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Boolean => "Boolean",
            Type::Integer => "Integer",
            Type::String => "String",
        })
    }
}

/// A value during evaluation. Strings borrow from the event or the expression where they
/// can, so matching an attribute against a literal allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Val<'a> {
    Bool(bool),
    Int(i32),
    Str(Cow<'a, str>),
}

impl<'a> From<&'a Value> for Val<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Boolean(b) => Val::Bool(*b),
            Value::Integer(n) => Val::Int(*n),
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
        }
    }
}

impl<'a> Val<'a> {
    pub(super) fn into_value(self) -> Value {
        match self {
            Val::Bool(b) => Value::Boolean(b),
            Val::Int(n) => Value::Integer(n),
            Val::Str(s) => Value::String(s.into_owned()),
        }
    }

    /// Cast to _String_; total.
    pub(super) fn into_text(self) -> Cow<'a, str> {
        match self {
            Val::Str(s) => s,
            Val::Int(n) => Cow::Owned(n.to_string()),
            Val::Bool(true) => Cow::Borrowed("true"),
            Val::Bool(false) => Cow::Borrowed("false"),
        }
    }

    /// Cast to _Integer_: `None` is a _CastError_ (the caller goes on with `0`).
    /// A string is read as base 10 with an optional sign and must fit 32 bits.
    pub(super) fn to_int(&self) -> Option<i32> {
        match self {
            Val::Int(n) => Some(*n),
            Val::Bool(b) => Some(i32::from(*b)),
            Val::Str(s) => s.parse().ok(),
        }
    }

    /// Implicit cast to _Boolean_, as operators do it: `None` is a _CastError_ (the caller
    /// goes on with `false`). An integer does not cast implicitly: the TCK expects
    /// `NOT 10` to be `true` with a cast error, although the explicit `BOOL(10)` is `true`.
    pub(super) fn to_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            Val::Int(_) => None,
            Val::Str(s) => text_to_bool(s),
        }
    }

    /// Explicit cast to _Boolean_ (the `BOOL` function): an integer is `true` unless `0`.
    pub(super) fn to_bool_explicit(&self) -> Option<bool> {
        match self {
            Val::Int(n) => Some(*n != 0),
            other => other.to_bool(),
        }
    }
}

/// `true` or `false` when the lower-case form of the string is exactly that.
fn text_to_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
