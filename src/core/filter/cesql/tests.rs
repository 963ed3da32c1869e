//! CESQL beyond the TCK: the choices the module docs list, limits and error messages.

use proptest::prelude::*;

use super::{ErrorKind, Evaluation, Expression, Value};
use crate::core::filter::EventAttributes;

fn event() -> EventAttributes {
    EventAttributes::from_pairs([
        ("type", Value::from("order.created")),
        ("subject", Value::from("Ärger/42")),
        ("amount", Value::from(25)),
        ("big", Value::from(i32::MAX)),
        ("vip", Value::from(true)),
    ])
}

fn eval(text: &str) -> Evaluation {
    Expression::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).evaluate(&event())
}

fn ok(text: &str) -> Value {
    let e = eval(text);
    assert_eq!(e.error, None, "{text}");
    e.value
}

fn err(text: &str) -> (Value, ErrorKind) {
    let e = eval(text);
    (e.value, e.error.unwrap_or_else(|| panic!("{text}: no error")))
}

fn parse_error(text: &str) -> String {
    Expression::parse(text).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn logic_is_one_level_left_to_right() {
    // (TRUE OR TRUE) AND FALSE, not TRUE OR (TRUE AND FALSE).
    assert_eq!(ok("TRUE OR TRUE AND FALSE"), Value::Boolean(false));
    assert_eq!(ok("FALSE AND TRUE OR TRUE"), Value::Boolean(true));
    assert_eq!(ok("TRUE XOR TRUE OR FALSE"), Value::Boolean(false));
    // Comparisons bind tighter than logic, arithmetic tighter than comparisons.
    assert_eq!(ok("1 + 2 * 3 = 7 AND 7 - 3 - 2 = 2"), Value::Boolean(true));
    // LIKE and IN bind tighter than binary operators; NOT tighter than LIKE.
    assert_eq!(ok("'false' = 'a' LIKE 'true'"), Value::Boolean(true));
    assert_eq!(ok("NOT TRUE LIKE 'false'"), Value::Boolean(true));
}

#[test]
fn integers() {
    assert_eq!(ok("-2147483648"), Value::Integer(i32::MIN));
    assert_eq!(ok("+7"), Value::Integer(7));
    assert_eq!(ok("4 -1"), Value::Integer(3));
    assert_eq!(ok("4-1"), Value::Integer(3));
    assert_eq!(ok("- 5"), Value::Integer(-5));
    assert_eq!(ok("-7 / 2"), Value::Integer(-3));
    assert_eq!(ok("-7 % 2"), Value::Integer(-1));
    assert_eq!(ok("-2147483648 % -1"), Value::Integer(0));
    assert_eq!(err("big + 1"), (Value::Integer(i32::MAX), ErrorKind::Math));
    assert_eq!(err("-big - 2"), (Value::Integer(i32::MIN), ErrorKind::Math));
    assert_eq!(err("big * -2"), (Value::Integer(i32::MIN), ErrorKind::Math));
    assert_eq!(err("-2147483648 / -1"), (Value::Integer(i32::MAX), ErrorKind::Math));
    assert_eq!(err("-(-2147483648)"), (Value::Integer(i32::MAX), ErrorKind::Math));
    assert!(parse_error("2147483648").contains("an integer literal within 32 bits"));
    assert!(parse_error("99999999999999999999999").contains("an integer literal within 32 bits"));
    assert_eq!(ok("INT('+12') + INT('-2')"), Value::Integer(10));
    assert_eq!(err("INT(' 12')"), (Value::Integer(0), ErrorKind::Cast));
}

#[test]
fn casts() {
    assert_eq!(ok("amount = '25'"), Value::Boolean(true));
    assert_eq!(ok("'25' = amount"), Value::Boolean(true));
    assert_eq!(ok("amount > '9'"), Value::Boolean(true));
    assert_eq!(err("amount > 'x'"), (Value::Boolean(true), ErrorKind::Cast));
    assert_eq!(err("1 AND TRUE"), (Value::Boolean(false), ErrorKind::Cast));
    assert_eq!(ok("BOOL(1) AND vip"), Value::Boolean(true));
    assert_eq!(ok("amount IN ('24', '25')"), Value::Boolean(true));
    assert_eq!(ok("amount NOT IN (1, 2)"), Value::Boolean(true));
    // IN stops at the first equal element: a later bad cast raises nothing.
    assert_eq!(ok("amount IN (25, 'x')"), Value::Boolean(true));
    assert_eq!(err("amount IN ('x', 25)"), (Value::Boolean(true), ErrorKind::Cast));
}

#[test]
fn strings_and_like() {
    assert_eq!(ok(r#"'it\'s' = "it's""#), Value::Boolean(true));
    assert_eq!(ok("'it''s'"), Value::String("it's".into()));
    assert_eq!(ok(r"'a\\b'"), Value::String(r"a\b".into()));
    assert_eq!(ok(r"'a\nb'"), Value::String(r"a\nb".into()));
    assert_eq!(ok(r"'50%' LIKE '50\%'"), Value::Boolean(true));
    assert_eq!(ok(r"'500' LIKE '50\%'"), Value::Boolean(false));
    assert_eq!(ok(r"'a\b' LIKE 'a\\\\b'"), Value::Boolean(true));
    assert_eq!(ok("subject LIKE '_rger/%'"), Value::Boolean(true));
    assert_eq!(ok("LENGTH(subject)"), Value::Integer(8));
    assert_eq!(ok("UPPER(subject)"), Value::String("ÄRGER/42".into()));
    assert_eq!(ok("SUBSTRING(subject, 1, 1)"), Value::String("Ä".into()));
    assert_eq!(ok("RIGHT(subject, 2)"), Value::String("42".into()));
    assert_eq!(ok("CONCAT_WS('-', type, amount, vip)"), Value::String("order.created-25-true".into()));
    assert_eq!(ok("TRIM('\u{2003} a\t')"), Value::String("a".into()));
    assert_eq!(err("LEFT('abc', 'x')"), (Value::String("".into()), ErrorKind::Cast));
    assert_eq!(err("SUBSTRING('abc', 1, -1)"), (Value::String("".into()), ErrorKind::FunctionEvaluation));
}

#[test]
fn names_and_errors() {
    assert_eq!(ok("EXISTS TYPE AND Type = 'order.created'"), Value::Boolean(true));
    assert_eq!(ok("lower(TYPE) = concat('order', '.created')"), Value::Boolean(true));
    assert_eq!(err("nosuch(1)"), (Value::Boolean(false), ErrorKind::MissingFunction));
    assert_eq!(err("LENGTH(1, 2)"), (Value::Boolean(false), ErrorKind::MissingFunction));
    // A failed argument gives the function's zero value.
    assert_eq!(err("LENGTH(missing)"), (Value::Integer(0), ErrorKind::MissingAttribute));
    assert_eq!(err("UPPER(missing) = ''"), (Value::Boolean(false), ErrorKind::MissingAttribute));
    assert_eq!(err("missing"), (Value::Boolean(false), ErrorKind::MissingAttribute));
    assert_eq!(ok("EXISTS missing"), Value::Boolean(false));
    assert_eq!(parse_error("type = 'a' AND"), "at character 15, expected an expression, found the end");
    assert_eq!(
        parse_error("1 2"),
        "at character 3, expected an operator or the end of the expression, found \"2\""
    );
    assert!(parse_error("x IN ()").contains("at least one value in the IN set"));
    assert!(parse_error("x NOT = 1").contains("LIKE or IN after NOT"));
    assert!(parse_error("'open").contains("a closing quote"));
    assert!(parse_error("my_ext = 1").contains("an attribute name of letters and digits"));
    assert!(parse_error("EXISTS 'type'").contains("an attribute name after EXISTS"));
    assert!(parse_error("EXISTS and").contains("an attribute name of letters and digits"));
    assert!(parse_error("f1(2)").contains("a function name of letters and underscores"));
    assert!(parse_error("AND").contains("expected an expression"));
    assert!(parse_error("(1").contains("`)` to close the `(`"));
    assert!(parse_error("").contains("expected an expression"));
}

#[test]
fn static_knowledge() {
    let e = Expression::parse("nosuch(1) OR x").unwrap();
    assert_eq!(e.missing_function(), Some(("nosuch", 1)));
    assert_eq!(Expression::parse("LENGTH(x)").unwrap().result_type(), Some(super::Type::Integer));
    assert_eq!(Expression::parse("(x)").unwrap().result_type(), None);
    assert_eq!(Expression::parse("x = 1").unwrap().to_string(), "x = 1");
}

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,80}") {
        if let Ok(e) = Expression::parse(&text) {
            e.evaluate(&event());
        }
    }

    #[test]
    fn like_a_prefix_is_starts_with(text in "[a-c%_]{0,8}", prefix in "[a-c]{0,4}") {
        let e = Expression::parse(&format!("x LIKE '{prefix}%'")).unwrap();
        let event = EventAttributes::from_pairs([("x", Value::from(text.as_str()))]);
        prop_assert_eq!(e.matches(&event), text.starts_with(&prefix));
    }

    #[test]
    fn integer_literals_round_trip(n in any::<i32>()) {
        prop_assert_eq!(ok(&n.to_string()), Value::Integer(n));
        prop_assert_eq!(ok(&format!("STRING({n}) = '{n}'")), Value::Boolean(true));
    }
}

#[test]
fn strings_and_patterns_past_their_budget_are_errors_not_work() {
    let big = EventAttributes::from_pairs([("id", Value::from("x".repeat(100_000)))]);
    let concat = format!("LENGTH(CONCAT({})) > 0", ["id"; 20].join(", "));
    let e = Expression::parse(&concat).unwrap().evaluate(&big);
    assert_eq!(e.error, Some(ErrorKind::FunctionEvaluation), "2 MB: more than any event");
    let concat = format!("LENGTH(CONCAT({})) = 1000000", ["id"; 10].join(", "));
    assert_eq!(Expression::parse(&concat).unwrap().evaluate(&big).value, Value::Boolean(true));
    let like = format!("id NOT LIKE '%{}y%'", "_".repeat(2_000));
    let e = Expression::parse(&like).unwrap().evaluate(&big);
    assert_eq!(e.error, Some(ErrorKind::FunctionEvaluation), "2,000 x 100,000 steps");
    assert_eq!(ok("type NOT LIKE '%_x%'"), Value::Boolean(true));
}
