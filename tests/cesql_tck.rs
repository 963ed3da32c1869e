//! The CESQL 1.0 TCK (`tests/fixtures/cesql_tck/`, from cloudevents/spec): every case is
//! parsed and evaluated on its event, and both its result and its error kind are checked.
//! `cargo test --test cesql_tck -- --nocapture` shows the tally.
#![cfg(not(target_arch = "wasm32"))] // native: saphyr is a native dev-dependency, and wasm-pack builds every test target

use std::path::Path;

use ismld::core::filter::cesql::{ErrorKind, Expression, Value};
use ismld::core::filter::EventAttributes;
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::{json, Map, Value as Json};

/// Cases that cannot pass, by "suite / case" name, with the reason. None today; a case
/// listed here that passes fails the test, so the list cannot go stale.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

/// The TCK's "any valid event", for cases without `event`; `eventOverrides` apply to it.
fn default_event() -> Map<String, Json> {
    let event = json!({"specversion": "1.0", "id": "tck-id", "source": "/tck", "type": "io.cloudevents.tck"});
    event.as_object().cloned().unwrap_or_default()
}

type Node<'t> = MarkedYaml<'t>;

fn get<'a, 't>(node: &'a Node<'t>, key: &str) -> Option<&'a Node<'t>> {
    node.data.as_mapping_get(key)
}

/// A scalar as written: YAML reads `tRuE` and `-10` as a boolean and an integer, but
/// names and expressions are text, so those are sliced from the source.
fn text(source: &str, node: &Node<'_>) -> String {
    if let YamlData::Value(Scalar::String(s)) = &node.data {
        return s.to_string();
    }
    let byte = |chars: usize| source.char_indices().nth(chars).map_or(source.len(), |(i, _)| i);
    source[byte(node.span.start.index())..byte(node.span.end.index())].trim().to_owned()
}

fn to_json(node: &Node<'_>) -> Json {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Json::String(s.to_string()),
        YamlData::Value(Scalar::Integer(n)) => json!(n),
        YamlData::Value(Scalar::Boolean(b)) => json!(b),
        YamlData::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
        YamlData::Value(Scalar::Null) => Json::Null,
        YamlData::Mapping(m) => Json::Object(
            m.iter().map(|(k, v)| (k.data.as_str().expect("string keys").to_owned(), to_json(v))).collect(),
        ),
        YamlData::Sequence(s) => Json::Array(s.iter().map(to_json).collect()),
        other => panic!("unexpected YAML node {other:?}"),
    }
}

fn expected_value(node: &Node<'_>) -> Value {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Value::String(s.to_string()),
        YamlData::Value(Scalar::Integer(n)) => Value::Integer(i32::try_from(*n).expect("a 32-bit result")),
        YamlData::Value(Scalar::Boolean(b)) => Value::Boolean(*b),
        other => panic!("unexpected result {other:?}"),
    }
}

/// The event a case runs on, through the same JSON reader the broker uses.
fn event_of(case: &Node<'_>) -> EventAttributes {
    let event = match get(case, "event") {
        Some(event) => to_json(event),
        None => {
            let mut event = default_event();
            if let Some(Json::Object(overrides)) = get(case, "eventOverrides").map(to_json) {
                event.extend(overrides);
            }
            Json::Object(event)
        }
    };
    EventAttributes::from_json(&event.to_string()).expect("a JSON object")
}

/// The value and error a case produces; a parse error is `false` with `parse`.
fn run(expression: &str, event: &EventAttributes) -> (Value, Option<ErrorKind>) {
    match Expression::parse(expression) {
        Ok(parsed) => {
            let outcome = parsed.evaluate(event);
            (outcome.value, outcome.error)
        }
        Err(_) => (Value::Boolean(false), Some(ErrorKind::Parse)),
    }
}

#[test]
fn cesql_tck() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cesql_tck");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 18, "the TCK has 18 files");

    let (mut passed, mut total) = (0, 0);
    let mut failures = Vec::new();
    let mut known = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let docs = Node::load_from_str(&source).unwrap();
        let suite = &docs[0];
        let suite_name = text(&source, get(suite, "name").unwrap());
        for case in get(suite, "tests").and_then(|t| t.data.as_vec()).unwrap() {
            total += 1;
            let name = format!("{suite_name} / {}", text(&source, get(case, "name").unwrap()));
            let expression = text(&source, get(case, "expression").unwrap());
            let want_error = get(case, "error").and_then(|e| e.data.as_str());
            let want_value = get(case, "result").map(expected_value);

            let (value, error) = run(&expression, &event_of(case));
            let ok =
                error.map(ErrorKind::code) == want_error && want_value.as_ref().is_none_or(|v| *v == value);
            let listed = KNOWN_FAILURES.iter().find(|(n, _)| *n == name);
            match (ok, listed) {
                (true, None) => passed += 1,
                (true, Some(_)) => failures.push(format!("{name}: passes but is listed in KNOWN_FAILURES")),
                (false, Some((_, why))) => known.push(format!("{name}: {why}")),
                (false, None) => failures.push(format!(
                    "{name}: `{expression}` gave {value} with error {:?}; expected {} with error {want_error:?}",
                    error.map(ErrorKind::code),
                    want_value.map_or("any value".to_owned(), |v| v.to_string()),
                )),
            }
        }
    }
    for line in &known {
        println!("known failure: {line}");
    }
    println!("CESQL TCK: {passed} passed / {total} total");
    assert!(failures.is_empty(), "{} TCK case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
