//! CESQL 1.0, the CloudEvents SQL expression language: parsing once, evaluating per event.
//!
//! Owns: the language (grammar, types, casts, operators, built-in functions, errors).
//! Must not touch: the Subscriptions API dialects and JSON (the parent module), `data`.
//!
//! Choices where the spec leaves room or disagrees with itself (the TCK decides when it
//! speaks):
//! - `AND`, `OR` and `XOR` share one precedence level, left to right, as section 3.6
//!   says (the ANTLR grammar in the spec's repository makes them right-associative;
//!   SQL binds `AND` tighter). Parenthesize mixed chains.
//! - Operators do not cast an _Integer_ to _Boolean_ implicitly: `NOT 10` is `true`
//!   with a cast error, as the TCK expects; `BOOL(10)` is `true`.
//! - Errors are "fail fast": a node whose operand failed returns its zero value.
//! - Overflow of `+ - *`, unary `-` and `/` saturates with a math error (the spec
//!   only defines `ABS(-2147483648)`, which does the same).
//! - In string literals `\'`, `\"` and `\\` are escapes; other backslashes stay, for
//!   `LIKE`'s `\%` and `\_`. In `LIKE` patterns, `\\` is one backslash.
//! - Attribute names and keywords are read in any case (`EXISTS SOURCE` is in the TCK).
//! - `IN` stops at the first equal element.
//! - The functions are the spec's table plus `INT`, `BOOL` and `STRING` (named by
//!   section 3.7 and tested by the TCK); `IS_BOOL`/`IS_INT` were dropped from the TCK
//!   as not required, and are not provided.

mod ast;
mod eval;
mod functions;
mod parse;
mod pattern;
mod token;
mod value;

// proptest is a native dev-dependency: wasm-pack builds the lib tests for wasm32 too.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use value::{Type, Value};

use crate::core::filter::EventAttributes;

/// Deepest tree an expression may parse into (a chain of 256 `OR`s is 256 deep): the
/// evaluator recurses once per level.
pub const MAX_DEPTH: usize = 256;

/// Deepest nesting of parentheses, calls, `IN` sets and unary operators: the parser
/// recurses through every precedence level for each.
pub const MAX_NESTING: usize = 64;

/// The kinds of error CESQL defines (section 3.3), named as in the TCK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text is not a valid expression.
    Parse,
    /// Division or remainder by zero, or an overflow.
    Math,
    /// A value could not be cast to the type an operator or function needs.
    Cast,
    /// The expression named an attribute the event does not have.
    MissingAttribute,
    /// No function of that name takes that many arguments.
    MissingFunction,
    /// A function was given arguments outside its domain.
    FunctionEvaluation,
    /// Any other error (none of the built-ins raises it).
    Generic,
}

impl ErrorKind {
    /// The TCK's name for the kind (`parse`, `math`, `missingAttribute`, ...).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Parse => "parse",
            ErrorKind::Math => "math",
            ErrorKind::Cast => "cast",
            ErrorKind::MissingAttribute => "missingAttribute",
            ErrorKind::MissingFunction => "missingFunction",
            ErrorKind::FunctionEvaluation => "functionEvaluation",
            ErrorKind::Generic => "generic",
        }
    }
}

/// Why an expression did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}, expected {expected}, found {found}")]
pub struct ParseError {
    /// Where the error is, in characters from 1.
    pub position: usize,
    /// What the grammar expected there.
    pub expected: &'static str,
    /// The start of what was there instead (quoted), or "the end".
    pub found: String,
}

/// The outcome of evaluating an expression: always a value, and the first error if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The value (the zero value of the result type when an operand failed).
    pub value: Value,
    /// The first error raised, if any.
    pub error: Option<ErrorKind>,
}

/// A parsed CESQL expression, ready to evaluate against any number of events.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    root: ast::Expr,
}

impl Expression {
    /// Parses an expression. Its length is the caller's to bound; its depth is bounded
    /// here ([`MAX_DEPTH`], [`MAX_NESTING`]).
    pub fn parse(text: &str) -> Result<Expression, ParseError> {
        Ok(Expression { source: text.to_owned(), root: parse::expression(text)? })
    }

    /// The text it was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression against an event.
    pub fn evaluate(&self, event: &EventAttributes) -> Evaluation {
        match eval::eval(&self.root, event) {
            Ok(v) => Evaluation { value: v.into_value(), error: None },
            Err(f) => Evaluation { value: f.value.into_value(), error: Some(f.kind) },
        }
    }

    /// Whether the event passes the expression as a filter: the result is `true` and
    /// no error was raised (CESQL 1.0 section 1.2).
    pub fn matches(&self, event: &EventAttributes) -> bool {
        matches!(eval::eval(&self.root, event), Ok(value::Val::Bool(true)))
    }

    /// The result type, when it does not depend on the event (it does for a bare
    /// attribute).
    pub fn result_type(&self) -> Option<Type> {
        self.root.result()
    }

    /// The first call to a function that does not exist, as (name, number of
    /// arguments): such a call always evaluates to an error.
    pub fn missing_function(&self) -> Option<(&str, usize)> {
        self.root.missing_function()
    }
}

/// Two expressions are equal when they parse to the same tree, whatever their spacing.
impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
    }
}

impl Eq for Expression {}

impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}
