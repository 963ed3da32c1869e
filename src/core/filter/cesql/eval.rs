//! Evaluating an expression against one event (CESQL 1.0 sections 3.2 to 3.7).
//!
//! Owns: operator semantics, implicit casts, short-circuits and error propagation. Must
//! not touch: text (the tree is parsed), the event's JSON (attributes arrive parsed).
//!
//! Errors follow the spec's "fail fast" mode, which its TCK checks: a node whose operand
//! failed returns the zero value of its own result type with that error, without
//! evaluating further operands; a node that raises an error itself (a cast, a division by
//! zero, a function's bad argument) returns the value the spec defines for that case with
//! the error. So `true AND (1 != 1 / 0)` is `false` with a math error, and `NOT 10` is
//! `true` with a cast error (the cast's `false`, negated).

use super::ast::{BinaryOp, Expr};
use super::value::Val;
use super::ErrorKind;
use crate::core::filter::EventAttributes;

/// A node's result: a value, or an error together with the value that goes with it.
pub(super) type Outcome<'a> = Result<Val<'a>, Failed<'a>>;

/// An error and the value returned with it.
#[derive(Debug)]
pub(super) struct Failed<'a> {
    pub(super) value: Val<'a>,
    pub(super) kind: ErrorKind,
}

/// The value with the first error seen, if any.
fn finish(value: Val<'_>, error: Option<ErrorKind>) -> Outcome<'_> {
    match error {
        None => Ok(value),
        Some(kind) => Err(Failed { value, kind }),
    }
}

/// Evaluates an operand; if it failed, the enclosing node returns its own zero value.
macro_rules! operand {
    ($node:expr, $expr:expr, $event:expr) => {
        match eval($expr, $event) {
            Ok(v) => v,
            Err(f) => return Err(Failed { value: $node.zero_type().zero(), kind: f.kind }),
        }
    };
}

/// Evaluates `expr` against `event`. Recursion is bounded by the parser's depth limit.
pub(super) fn eval<'a>(expr: &'a Expr, event: &'a EventAttributes) -> Outcome<'a> {
    match expr {
        Expr::Literal(v) => Ok(Val::from(v)),
        Expr::Attribute(name) => match event.get(name) {
            Some(v) => Ok(Val::from(v)),
            None => Err(Failed { value: expr.zero_type().zero(), kind: ErrorKind::MissingAttribute }),
        },
        Expr::Exists(name) => Ok(Val::Bool(event.get(name).is_some())),
        Expr::Not(inner) => {
            let (b, error) = to_bool(&operand!(expr, inner, event));
            finish(Val::Bool(!b), error)
        }
        Expr::Negate(inner) => {
            let (n, mut error) = to_int(&operand!(expr, inner, event));
            let value = n.checked_neg().unwrap_or_else(|| {
                error.get_or_insert(ErrorKind::Math);
                i32::MAX
            });
            finish(Val::Int(value), error)
        }
        Expr::Binary { op, left, right } => binary(expr, *op, left, right, event),
        Expr::Like { negated, value, pattern } => {
            let text = operand!(expr, value, event).into_text();
            match pattern.matches(&text) {
                Some(m) => Ok(Val::Bool(m != *negated)),
                // Too costly to answer (`LIKE_STEPS`): an error, so the event does not match.
                None => finish(Val::Bool(false), Some(ErrorKind::FunctionEvaluation)),
            }
        }
        Expr::In { negated, value, set } => {
            let x = operand!(expr, value, event);
            let mut error = None;
            let mut found = false;
            for element in set {
                let y = operand!(expr, element, event);
                // `IN` casts each element to the type of its left operand.
                let (equal, e) = equal_as(&y, &x);
                error = error.or(e);
                if equal {
                    found = true;
                    break;
                }
            }
            finish(Val::Bool(found != *negated), error)
        }
        Expr::Call { function, args } => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(operand!(expr, arg, event));
            }
            function.call(values)
        }
        Expr::MissingFunction { .. } => {
            Err(Failed { value: Val::Bool(false), kind: ErrorKind::MissingFunction })
        }
    }
}

fn binary<'a>(
    expr: &'a Expr,
    op: BinaryOp,
    left: &'a Expr,
    right: &'a Expr,
    event: &'a EventAttributes,
) -> Outcome<'a> {
    match op {
        BinaryOp::And | BinaryOp::Or => {
            let (l, mut error) = to_bool(&operand!(expr, left, event));
            // Short-circuit: the right operand is not evaluated (nor are its errors raised).
            if l == (op == BinaryOp::Or) {
                return finish(Val::Bool(l), error);
            }
            let (r, e) = to_bool(&operand!(expr, right, event));
            error = error.or(e);
            finish(Val::Bool(r), error)
        }
        BinaryOp::Xor => {
            let (l, e1) = to_bool(&operand!(expr, left, event));
            let (r, e2) = to_bool(&operand!(expr, right, event));
            finish(Val::Bool(l != r), e1.or(e2))
        }
        BinaryOp::Eq | BinaryOp::NotEq => {
            let x = operand!(expr, left, event);
            let y = operand!(expr, right, event);
            // `=` is defined for three types: the right operand's type picks the one.
            let (equal, error) = equal_as(&x, &y);
            finish(Val::Bool(equal == (op == BinaryOp::Eq)), error)
        }
        _ => {
            let (x, e1) = to_int(&operand!(expr, left, event));
            let (y, e2) = to_int(&operand!(expr, right, event));
            let (value, e3) = integer_op(op, x, y);
            finish(value, e1.or(e2).or(e3))
        }
    }
}

/// Integer comparisons and arithmetic. Overflow saturates with a math error, as `ABS`
/// does for the one case the spec names.
fn integer_op(op: BinaryOp, x: i32, y: i32) -> (Val<'static>, Option<ErrorKind>) {
    let checked = |r: Option<i32>, saturated: i32| match r {
        Some(n) => (Val::Int(n), None),
        None => (Val::Int(saturated), Some(ErrorKind::Math)),
    };
    let sign = if (x < 0) == (y < 0) { i32::MAX } else { i32::MIN };
    match op {
        BinaryOp::Less => (Val::Bool(x < y), None),
        BinaryOp::LessEq => (Val::Bool(x <= y), None),
        BinaryOp::Greater => (Val::Bool(x > y), None),
        BinaryOp::GreaterEq => (Val::Bool(x >= y), None),
        BinaryOp::Add => checked(x.checked_add(y), if x < 0 { i32::MIN } else { i32::MAX }),
        BinaryOp::Sub => checked(x.checked_sub(y), if x < 0 { i32::MIN } else { i32::MAX }),
        BinaryOp::Mul => checked(x.checked_mul(y), sign),
        BinaryOp::Div if y == 0 => (Val::Int(0), Some(ErrorKind::Math)),
        // i32::MIN / -1 is the one quotient that does not fit.
        BinaryOp::Div => checked(x.checked_div(y), i32::MAX),
        BinaryOp::Rem if y == 0 => (Val::Int(0), Some(ErrorKind::Math)),
        // The remainder has the sign of `x`; i32::MIN % -1 is 0.
        BinaryOp::Rem => (Val::Int(x.wrapping_rem(y)), None),
        _ => (Val::Bool(false), Some(ErrorKind::Generic)),
    }
}

/// `x = y` with `x` cast to the type of `y`.
fn equal_as(x: &Val<'_>, y: &Val<'_>) -> (bool, Option<ErrorKind>) {
    match (x, y) {
        (Val::Str(a), Val::Str(b)) => (a == b, None),
        (_, Val::Str(b)) => (x.clone().into_text() == *b, None),
        (_, Val::Bool(b)) => {
            let (a, error) = to_bool(x);
            (a == *b, error)
        }
        (_, Val::Int(n)) => {
            let (a, error) = to_int(x);
            (a == *n, error)
        }
    }
}

fn to_bool(v: &Val<'_>) -> (bool, Option<ErrorKind>) {
    match v.to_bool() {
        Some(b) => (b, None),
        None => (false, Some(ErrorKind::Cast)),
    }
}

fn to_int(v: &Val<'_>) -> (i32, Option<ErrorKind>) {
    match v.to_int() {
        Some(n) => (n, None),
        None => (0, Some(ErrorKind::Cast)),
    }
}
