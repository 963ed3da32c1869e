//! The parsed form of a CESQL expression.
//!
//! Owns: the tree the parser builds and the evaluator walks, and what can be known of it
//! before any event (its result type, calls to unknown functions). Must not touch: text,
//! events.

use super::functions::Function;
use super::pattern::Pattern;
use super::value::{Type, Value};

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinaryOp {
    And,
    Or,
    Xor,
    Eq,
    NotEq,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    fn result(self) -> Type {
        match self {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => Type::Integer,
            _ => Type::Boolean,
        }
    }
}

/// One node of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expr {
    Literal(Value),
    /// An attribute by its lower-case name.
    Attribute(Box<str>),
    Exists(Box<str>),
    Not(Box<Expr>),
    Negate(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Like {
        negated: bool,
        value: Box<Expr>,
        pattern: Pattern,
    },
    In {
        negated: bool,
        value: Box<Expr>,
        set: Vec<Expr>,
    },
    Call {
        function: Function,
        args: Vec<Expr>,
    },
    /// A call no function answers (unknown name, or no overload of that arity): it
    /// evaluates to `false` with a _MissingFunctionError_, as the spec asks, rather than
    /// failing the parse.
    MissingFunction {
        name: Box<str>,
        arity: usize,
    },
}

impl Expr {
    /// The node's result type, `None` for a bare attribute (whose type is the event's).
    pub(super) fn result(&self) -> Option<Type> {
        match self {
            Expr::Literal(v) => Some(v.kind()),
            Expr::Attribute(_) => None,
            Expr::Negate(_) => Some(Type::Integer),
            Expr::Binary { op, .. } => Some(op.result()),
            Expr::Call { function, .. } => Some(function.result()),
            Expr::Exists(_) | Expr::Not(_) | Expr::Like { .. } | Expr::In { .. } => Some(Type::Boolean),
            Expr::MissingFunction { .. } => Some(Type::Boolean),
        }
    }

    /// The zero value to return with an error: where the type cannot be known (a bare
    /// attribute), the spec says to assume _Boolean_.
    pub(super) fn zero_type(&self) -> Type {
        self.result().unwrap_or(Type::Boolean)
    }

    /// The first call to a function that does not exist, as (name, arity). Recursion is
    /// bounded by the parser's depth limit.
    pub(super) fn missing_function(&self) -> Option<(&str, usize)> {
        match self {
            Expr::MissingFunction { name, arity } => Some((name, *arity)),
            Expr::Literal(_) | Expr::Attribute(_) | Expr::Exists(_) => None,
            Expr::Not(e) | Expr::Negate(e) | Expr::Like { value: e, .. } => e.missing_function(),
            Expr::Binary { left, right, .. } => left.missing_function().or_else(|| right.missing_function()),
            Expr::In { value, set, .. } => {
                value.missing_function().or_else(|| set.iter().find_map(Expr::missing_function))
            }
            Expr::Call { args, .. } => args.iter().find_map(Expr::missing_function),
        }
    }
}
