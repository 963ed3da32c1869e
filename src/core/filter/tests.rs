//! The Subscriptions API dialects, their errors and bounds, and reading events.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::proto::{ApiError, ErrorCode};

fn event() -> EventAttributes {
    EventAttributes::from_json(
        r#"{"specversion":"1.0","id":"e-1","source":"/shop","type":"order.created","subject":"orders/42",
            "amount":25,"vip":true,"region":"eu-west","data":{"type":"not.an.attribute"}}"#,
    )
    .unwrap()
}

fn filter(json: serde_json::Value) -> Filter {
    Filter::parse(&json).unwrap()
}

fn matches(json: serde_json::Value) -> bool {
    filter(json).matches(&event())
}

fn error(json: serde_json::Value) -> String {
    Filter::parse(&json).unwrap_err().to_string()
}

#[test]
fn exact_prefix_suffix() {
    assert!(matches(json!({"exact": {"type": "order.created"}})));
    assert!(!matches(json!({"exact": {"type": "order.Created"}})), "case-sensitive");
    assert!(!matches(json!({"exact": {"type": "order"}})));
    assert!(matches(json!({"prefix": {"type": "order."}})));
    assert!(!matches(json!({"prefix": {"type": "created"}})));
    assert!(matches(json!({"suffix": {"type": ".created"}})));
    assert!(!matches(json!({"suffix": {"type": "order"}})));
    // Several attributes: all must match.
    assert!(matches(json!({"exact": {"type": "order.created", "source": "/shop"}})));
    assert!(!matches(json!({"exact": {"type": "order.created", "source": "/other"}})));
    assert!(matches(json!({"prefix": {"type": "order", "subject": "orders/"}})));
    // A missing attribute never matches, whatever the dialect.
    assert!(!matches(json!({"exact": {"missing": "x"}})));
    assert!(!matches(json!({"prefix": {"missing": "x"}})));
    // Non-string attributes compare as text; data is not an attribute.
    assert!(matches(json!({"exact": {"amount": "25"}})));
    assert!(matches(json!({"prefix": {"amount": "2"}})));
    assert!(matches(json!({"exact": {"vip": "true"}})));
    assert!(!matches(json!({"exact": {"type": "not.an.attribute"}})));
}

#[test]
fn all_any_not_and_arrays() {
    let yes = json!({"exact": {"type": "order.created"}});
    let no = json!({"exact": {"type": "order.cancelled"}});
    assert!(matches(json!({"all": [yes, {"prefix": {"source": "/"}}]})));
    assert!(!matches(json!({"all": [yes, no]})));
    assert!(matches(json!({"any": [no, yes]})));
    assert!(!matches(json!({"any": [no, no]})));
    assert!(matches(json!({"not": no})));
    assert!(!matches(json!({"not": yes})));
    assert!(matches(json!({"not": {"not": yes}})));
    // A top-level array: all must match; empty matches everything.
    assert!(matches(json!([yes, {"suffix": {"subject": "/42"}}])));
    assert!(!matches(json!([yes, no])));
    assert!(matches(json!([])));
    assert_eq!(filter(json!([yes])), Filter::All(vec![filter(yes.clone())]));
}

#[test]
fn sql() {
    assert!(matches(json!({"sql": "type LIKE 'order.%' AND EXISTS subject AND amount > 10"})));
    assert!(!matches(json!({"sql": "amount > 100"})));
    assert!(matches(json!({"sql": "vip AND region IN ('eu-west', 'eu-north')"})));
    // An evaluation error is no match, and `not` of it is a match.
    assert!(!matches(json!({"sql": "missing = 'x' OR true"})));
    assert!(matches(json!({"not": {"sql": "missing = 'x' OR true"}})));
    assert!(!matches(json!({"sql": "1 / 0 = 0"})));
    // A bare attribute's type is the event's: a string is not a Boolean result.
    assert!(!matches(json!({"sql": "type"})));
    assert!(matches(json!({"sql": "vip"})));
    // Spacing does not make two filters different.
    assert_eq!(filter(json!({"sql": "amount>10"})), filter(json!({"sql": " amount  >  10 "})));
    assert_ne!(filter(json!({"sql": "amount > 10"})), filter(json!({"sql": "amount > 11"})));
}

#[test]
fn shape_errors_say_where_and_why() {
    assert_eq!(
        error(json!({"regex": {"type": ".*"}})),
        "unknown filter dialect \"regex\" at $; the dialects are exact, prefix, suffix, all, any, not and sql"
    );
    assert_eq!(
        error(json!({"all": [{"exact": {"type": "a"}}, {"nope": 1}]})),
        "unknown filter dialect \"nope\" at $.all[1]; the dialects are exact, prefix, suffix, all, any, not and sql"
    );
    assert!(error(json!("type = 'a'")).starts_with("a filter is a JSON object with one dialect key"));
    assert!(error(json!({"exact": {"type": "a"}, "prefix": {"type": "a"}}))
        .starts_with("a filter object has exactly one dialect key, not [\"exact\", \"prefix\"]"));
    assert!(error(json!({})).starts_with("a filter object has exactly one dialect key"));
    assert_eq!(error(json!({"exact": {"type": 5}})), "the value for \"type\" must be a string (at $.exact)");
    assert_eq!(
        error(json!({"prefix": {"type": ""}})),
        "the value for \"type\" must not be empty (at $.prefix)"
    );
    assert!(error(json!({"suffix": {}})).starts_with("takes an object of one or more attributes"));
    assert!(error(json!({"exact": "type"})).starts_with("takes an object of one or more attributes"));
    assert!(
        error(json!({"exact": {"Type": "a"}})).starts_with("\"Type\" is not a CloudEvents attribute name")
    );
    assert!(error(json!({"exact": {"": "a"}})).starts_with("\"\" is not a CloudEvents attribute name"));
    assert!(error(json!({"exact": {"data": "a"}})).starts_with("filters read context attributes"));
    assert_eq!(error(json!({"all": []})), "takes a non-empty array of filters (at $.all)");
    assert_eq!(error(json!({"any": {"exact": {"a": "b"}}})), "takes a non-empty array of filters (at $.any)");
    assert!(error(json!({"not": [{"exact": {"a": "b"}}]})).contains("(at $.not)"));
    assert_eq!(error(json!({"sql": 5})), "takes a CESQL expression as a string (at $.sql)");
}

#[test]
fn sql_errors() {
    assert_eq!(
        error(json!({"sql": "x LIKE 123"})),
        "invalid CESQL expression at $.sql: at character 8, expected a string literal as the LIKE pattern, \
         found \"123\""
    );
    assert_eq!(
        error(json!({"not": {"sql": "ABC("}})),
        "invalid CESQL expression at $.not.sql: at character 5, expected an expression, found the end"
    );
    assert_eq!(
        error(json!({"sql": "LENGHT(type) > 3"})),
        "CESQL has no function LENGHT taking 1 argument(s) (at $.sql)"
    );
    assert_eq!(
        error(json!({"sql": "amount + 1"})),
        "a CESQL filter must produce a Boolean; this expression produces Integer (at $.sql)"
    );
    let e = Filter::parse(&json!({"sql": "type = 'a' AND"})).unwrap_err();
    assert!(matches!(e, FilterError::Sql { .. }));
    assert_eq!(ApiError::from(e).code, ErrorCode::InvalidRequest);
}

#[test]
fn input_is_bounded() {
    // Over 64 KiB of JSON.
    let many: Vec<_> = (0..3000).map(|i| json!({"exact": {"type": format!("t{i}")}})).collect();
    assert!(matches!(Filter::parse(&json!({"any": many})), Err(FilterError::TooLarge { limit: 65536 })));
    // Filters 33 deep.
    let mut deep = json!({"exact": {"type": "order.created"}});
    for _ in 0..31 {
        deep = json!({"not": deep});
    }
    assert!(Filter::parse(&deep).is_ok());
    assert!(matches!(Filter::parse(&json!({"not": deep})), Err(FilterError::TooDeep { limit: 32, .. })));
    // An expression over 4 KiB.
    let long = format!("type = '{}'", "a".repeat(4096));
    assert!(matches!(
        Filter::parse(&json!({ "sql": long })),
        Err(FilterError::ExpressionTooLong { limit: 4096, .. })
    ));
    // Hostile nesting inside 4 KiB is refused by the parser's limits, not the stack.
    for hostile in
        ["(".repeat(2000) + "true" + &")".repeat(2000), "NOT ".repeat(1000) + "true", "-".repeat(4000) + "1"]
    {
        let e = error(json!({ "sql": hostile }));
        assert!(e.contains("expected less nesting"), "{e}");
    }
    let chain = vec!["vip"; 500].join(" OR ");
    assert!(error(json!({ "sql": chain })).contains("expected a shallower expression"));
    let chain = vec!["vip"; 200].join(" OR ");
    assert!(matches(json!({ "sql": chain })));
}

#[test]
fn to_json_reads_back() {
    for json in [
        json!({"exact": {"source": "/shop", "type": "order.created"}}),
        json!({"all": [{"prefix": {"type": "order."}}, {"not": {"suffix": {"subject": "/0"}}}]}),
        json!({"any": [{"sql": "amount > 10"}]}),
        json!([]),
    ] {
        assert_eq!(filter(json.clone()).to_json(), json);
    }
}

#[test]
fn event_attributes_from_json() {
    let big = "x".repeat(1 << 20);
    let text = format!(
        r#"{{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{{"a":["{big}"]}},
            "data_base64":"{big}","count":7,"neg":-2147483648,"flag":false,"ratio":1.5,
            "huge":2147483648,"gone":null,"obj":{{"k":1}},"esc":"a\"b\u00e9"}}"#
    );
    let attrs = EventAttributes::from_json(&text).unwrap();
    assert_eq!(attrs.get("data"), None);
    assert_eq!(attrs.get("data_base64"), None);
    assert_eq!(attrs.get("type"), Some(&Value::String("t".into())));
    assert_eq!(attrs.get("count"), Some(&Value::Integer(7)));
    assert_eq!(attrs.get("neg"), Some(&Value::Integer(i32::MIN)));
    assert_eq!(attrs.get("flag"), Some(&Value::Boolean(false)));
    // Not CloudEvents Integers: kept as their JSON text.
    assert_eq!(attrs.get("ratio"), Some(&Value::String("1.5".into())));
    assert_eq!(attrs.get("huge"), Some(&Value::String("2147483648".into())));
    assert_eq!(attrs.get("obj"), Some(&Value::String(r#"{"k":1}"#.into())));
    assert_eq!(attrs.get("gone"), None, "null is unset");
    assert_eq!(attrs.get("esc"), Some(&Value::String("a\"bé".into())));
    assert_eq!(attrs.len(), 11);

    assert!(matches!(EventAttributes::from_json("[1]"), Err(FilterError::Event(_))));
    assert!(matches!(EventAttributes::from_json("{\"a\":1"), Err(FilterError::Event(_))));
    assert!(matches!(EventAttributes::from_json("{} {}"), Err(FilterError::Event(_))));

    let pairs = EventAttributes::from_pairs([("type", Value::from("t")), ("n", Value::from(3))]);
    assert_eq!(pairs.get("n"), Some(&Value::Integer(3)));
    assert!(filter(json!({"sql": "n = 3 AND type = 't'"})).matches(&pairs));
}

/// A small generator of filters over a few attributes, for the properties.
fn arb_filter() -> impl Strategy<Value = serde_json::Value> {
    let attr = prop::sample::select(vec!["type", "source", "subject", "amount", "missing"]);
    let text = prop::sample::select(vec!["order", "order.created", "/shop", "2", "25", "x"]);
    let leaf = prop_oneof![
        (attr.clone(), text.clone()).prop_map(|(a, t)| json!({"exact": {a: t}})),
        (attr.clone(), text.clone()).prop_map(|(a, t)| json!({"prefix": {a: t}})),
        (attr, text).prop_map(|(a, t)| json!({"suffix": {a: t}})),
        prop::sample::select(vec!["amount > 10", "type LIKE 'order.%'", "missing = 1", "1 / 0 = 0", "vip"])
            .prop_map(|s| json!({ "sql": s })),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({ "all": v })),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({ "any": v })),
            inner.prop_map(|f| json!({ "not": f })),
        ]
    })
}

proptest! {
    #[test]
    fn not_is_negation(json in arb_filter()) {
        let f = filter(json.clone());
        let not = filter(json!({ "not": json }));
        prop_assert_eq!(not.matches(&event()), !f.matches(&event()));
    }

    #[test]
    fn to_json_round_trips(json in arb_filter()) {
        let f = filter(json);
        prop_assert_eq!(Filter::parse(&f.to_json()).unwrap(), f);
    }

    #[test]
    fn arbitrary_sql_never_panics(text in "[a-zA-Z0-9 ()'\"%_\\\\=<>!+*/,-]{0,64}") {
        if let Ok(f) = Filter::parse(&json!({ "sql": text })) {
            f.matches(&event());
        }
    }
}
