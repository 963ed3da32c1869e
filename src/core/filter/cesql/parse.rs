//! The CESQL 1.0 grammar (section 2): recursive descent over winnow token parsers.
//!
//! Owns: turning text into an [`Expr`]: precedence, keywords (any case), function
//! resolution, and the limits that keep hostile input from exhausting the stack. Must not
//! touch: evaluation, events, how a single token is read (the token module's).
//!
//! Precedence, loosest first, as section 3.6 lists it: `AND`/`OR`/`XOR` (one level, left
//! to right), comparisons, `+ -`, `* / %`, `LIKE`/`IN` (postfix), unary `NOT`/`-`, then
//! function calls, `EXISTS`, parentheses, attributes and literals.

use winnow::token::one_of;
use winnow::Parser;

use super::ast::{BinaryOp, Expr};
use super::functions::Function;
use super::pattern::Pattern;
use super::token::{
    expect, fail, keyword, signed_digits, snippet, string_literal, symbol, word, ws, Result, Syntax,
};
use super::value::Value;
use super::{ParseError, MAX_DEPTH, MAX_NESTING};

/// A parsed subtree and its height, kept to bound the tree's depth as it is built.
struct Node {
    expr: Expr,
    depth: usize,
}

impl Node {
    fn leaf(expr: Expr) -> Node {
        Node { expr, depth: 1 }
    }

    fn over(expr: Expr, children: usize, at: &str) -> Result<Node> {
        let depth = children + 1;
        if depth > MAX_DEPTH {
            return Err(fail(at, "a shallower expression (at most 256 nested operations)"));
        }
        Ok(Node { expr, depth })
    }
}

/// Parses a whole expression.
pub(super) fn expression(text: &str) -> std::result::Result<Expr, ParseError> {
    let mut input = text;
    let parsed = (|i: &mut &str| {
        let node = logic(i, 0)?;
        ws(i);
        if !i.is_empty() {
            return Err(fail(i, "an operator or the end of the expression"));
        }
        Ok(node.expr)
    })(&mut input);
    parsed.map_err(|e: Syntax| {
        let offset = text.len().saturating_sub(e.remaining);
        let rest = text.get(offset..).unwrap_or("");
        ParseError {
            position: text.get(..offset).map_or(0, |s| s.chars().count()) + 1,
            expected: if e.expected.is_empty() { "an expression" } else { e.expected },
            found: if rest.is_empty() { "the end".to_owned() } else { format!("{:?}", snippet(rest)) },
        }
    })
}

const RESERVED: [&str; 6] = ["AND", "OR", "XOR", "NOT", "LIKE", "IN"];

/// One left-associative level: `operand (op operand)*`.
fn level(
    i: &mut &str,
    nesting: usize,
    operand: fn(&mut &str, usize) -> Result<Node>,
    op: fn(&mut &str) -> Option<BinaryOp>,
) -> Result<Node> {
    let mut left = operand(i, nesting)?;
    loop {
        let before = *i;
        ws(i);
        let Some(op) = op(i) else {
            *i = before;
            return Ok(left);
        };
        let right = operand(i, nesting)?;
        let depth = left.depth.max(right.depth);
        let expr = Expr::Binary { op, left: Box::new(left.expr), right: Box::new(right.expr) };
        left = Node::over(expr, depth, i)?;
    }
}

fn logic(i: &mut &str, nesting: usize) -> Result<Node> {
    level(i, nesting, comparison, |i| {
        [("AND", BinaryOp::And), ("OR", BinaryOp::Or), ("XOR", BinaryOp::Xor)]
            .into_iter()
            .find_map(|(k, op)| keyword(i, k).then_some(op))
    })
}

/// Two-character symbols first, so that `<=` is not read as `<`.
const COMPARISONS: [(&str, BinaryOp); 7] = [
    ("!=", BinaryOp::NotEq),
    ("<>", BinaryOp::NotEq),
    ("<=", BinaryOp::LessEq),
    (">=", BinaryOp::GreaterEq),
    ("=", BinaryOp::Eq),
    ("<", BinaryOp::Less),
    (">", BinaryOp::Greater),
];
const ADDITIVE: [(&str, BinaryOp); 2] = [("+", BinaryOp::Add), ("-", BinaryOp::Sub)];
const MULTIPLICATIVE: [(&str, BinaryOp); 3] =
    [("*", BinaryOp::Mul), ("/", BinaryOp::Div), ("%", BinaryOp::Rem)];

fn comparison(i: &mut &str, nesting: usize) -> Result<Node> {
    level(i, nesting, additive, |i| symbol(i, &COMPARISONS))
}

fn additive(i: &mut &str, nesting: usize) -> Result<Node> {
    level(i, nesting, multiplicative, |i| symbol(i, &ADDITIVE))
}

fn multiplicative(i: &mut &str, nesting: usize) -> Result<Node> {
    level(i, nesting, postfix, |i| symbol(i, &MULTIPLICATIVE))
}

/// `x [NOT] LIKE 'pattern'` and `x [NOT] IN (a, b, ...)`, which bind tighter than every
/// binary operator.
fn postfix(i: &mut &str, nesting: usize) -> Result<Node> {
    let mut node = unary(i, nesting)?;
    loop {
        let before = *i;
        ws(i);
        let negated = keyword(i, "NOT");
        ws(i);
        let value = Box::new(node.expr);
        let (expr, depth) = if keyword(i, "LIKE") {
            ws(i);
            let text = string_literal.context("a string literal as the LIKE pattern").parse_next(i)?;
            (Expr::Like { negated, value, pattern: Pattern::new(&text) }, node.depth)
        } else if keyword(i, "IN") {
            ws(i);
            expect(i, '(', "`(` to open the IN set")?;
            let set = list(i, nesting)?;
            if set.is_empty() {
                return Err(fail(i, "at least one value in the IN set"));
            }
            let depth = set.iter().map(|n| n.depth).max().unwrap_or(0).max(node.depth);
            (Expr::In { negated, value, set: set.into_iter().map(|n| n.expr).collect() }, depth)
        } else if negated {
            return Err(fail(i, "LIKE or IN after NOT"));
        } else {
            *i = before;
            return Ok(Node { expr: *value, depth: node.depth });
        };
        node = Node::over(expr, depth, i)?;
    }
}

/// `NOT x` and `-x`.
fn unary(i: &mut &str, nesting: usize) -> Result<Node> {
    if nesting >= MAX_NESTING {
        return Err(fail(i, "less nesting (at most 64 levels of parentheses, calls and unary operators)"));
    }
    ws(i);
    if keyword(i, "NOT") {
        let inner = unary(i, nesting + 1)?;
        return Node::over(Expr::Not(Box::new(inner.expr)), inner.depth, i);
    }
    if let Some(rest) = i.strip_prefix('-') {
        // `-` and digits make one integer literal, so that -2147483648 can be written.
        if let Some(n) = signed_digits(rest, true)? {
            *i = n.0;
            return Ok(Node::leaf(Expr::Literal(Value::Integer(n.1))));
        }
        *i = rest;
        let inner = unary(i, nesting + 1)?;
        return Node::over(Expr::Negate(Box::new(inner.expr)), inner.depth, i);
    }
    primary(i, nesting)
}

/// Literals, attributes, `EXISTS`, function calls and parentheses.
fn primary(i: &mut &str, nesting: usize) -> Result<Node> {
    ws(i);
    match i.chars().next() {
        Some('(') => {
            *i = &i[1..];
            let inner = logic(i, nesting + 1)?;
            ws(i);
            expect(i, ')', "`)` to close the `(`")?;
            Ok(inner)
        }
        Some('\'' | '"') => Ok(Node::leaf(Expr::Literal(Value::String(string_literal(i)?)))),
        Some('+') => match signed_digits(&i[1..], false)? {
            Some((after, n)) => {
                *i = after;
                Ok(Node::leaf(Expr::Literal(Value::Integer(n))))
            }
            None => Err(fail(i, "digits after `+`")),
        },
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => named(i, nesting),
        _ => Err(fail(i, "an expression")),
    }
}

/// What starts with a word: an integer, `TRUE`/`FALSE`, `EXISTS x`, `f(...)` or an
/// attribute.
fn named(i: &mut &str, nesting: usize) -> Result<Node> {
    let start = *i;
    if let Some((after, n)) = signed_digits(start, false)? {
        *i = after;
        return Ok(Node::leaf(Expr::Literal(Value::Integer(n))));
    }
    let name = word(i)?;
    for (text, b) in [("TRUE", true), ("FALSE", false)] {
        if name.eq_ignore_ascii_case(text) {
            return Ok(Node::leaf(Expr::Literal(Value::Boolean(b))));
        }
    }
    if name.eq_ignore_ascii_case("EXISTS") {
        ws(i);
        let at = *i;
        let attribute = word.context("an attribute name after EXISTS").parse_next(i)?;
        return Ok(Node::leaf(Expr::Exists(attribute_name(attribute, at)?)));
    }
    if RESERVED.iter().any(|k| name.eq_ignore_ascii_case(k)) {
        return Err(fail(start, "an expression"));
    }
    let after_name = *i;
    ws(i);
    if i.starts_with('(') {
        let mut chars = name.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            || !chars.all(|c| c.is_ascii_alphabetic() || c == '_')
        {
            return Err(fail(start, "a function name of letters and underscores"));
        }
        *i = &i[1..];
        let args = list(i, nesting)?;
        let depth = args.iter().map(|n| n.depth).max().unwrap_or(0);
        let arity = args.len();
        let expr = match Function::resolve(name, arity) {
            Some(function) => Expr::Call { function, args: args.into_iter().map(|n| n.expr).collect() },
            None => Expr::MissingFunction { name: name.into(), arity },
        };
        return Node::over(expr, depth, i);
    }
    *i = after_name;
    Ok(Node::leaf(Expr::Attribute(attribute_name(name, start)?)))
}

/// An attribute name: letters and digits, read in lower case, as CloudEvents names are.
fn attribute_name(word: &str, at: &str) -> Result<Box<str>> {
    if !word.bytes().all(|b| b.is_ascii_alphanumeric())
        || RESERVED.iter().any(|k| word.eq_ignore_ascii_case(k))
    {
        return Err(fail(at, "an attribute name of letters and digits"));
    }
    Ok(word.to_ascii_lowercase().into())
}

/// `a, b, ...)` after an opening `(`; empty when `)` comes at once.
fn list(i: &mut &str, nesting: usize) -> Result<Vec<Node>> {
    let mut items = Vec::new();
    ws(i);
    if let Some(rest) = i.strip_prefix(')') {
        *i = rest;
        return Ok(items);
    }
    loop {
        items.push(logic(i, nesting + 1)?);
        ws(i);
        match one_of::<_, _, Syntax>([',', ')']).context("`,` or `)`").parse_next(i)? {
            ',' => {}
            _ => return Ok(items),
        }
    }
}
