//! Channel filters: the CloudEvents Subscriptions API filter dialects (`exact`, `prefix`,
//! `suffix`, `all`, `any`, `not`, `sql`), with [`cesql`] for `sql`.
//!
//! Owns: parsing a channel's filter JSON (once, when the channel is made), bounding it,
//! and deciding whether an event's attributes match. Must not touch: `data`, storage,
//! channels' state (the broker keeps the filter and counts what it filters out).
//!
//! Where the Subscriptions API is loose:
//! - `exact`, `prefix` and `suffix` take one or more attributes; all must match. An
//!   empty object is refused, and so are attribute names that no CloudEvent can have
//!   (they are lower-case letters and digits) and `data`, which filters never read.
//! - An attribute that is not a string is compared as text (`5`, `true`), as the
//!   CESQL `STRING` cast writes it. A missing attribute never matches.
//! - A top-level array is `all` of its filters; an empty one matches every event (the
//!   spec's "absence of a filter or empty array implies true"). `all` and `any` need at
//!   least one filter.
//! - A `sql` expression is refused when it cannot parse, calls a function that does not
//!   exist, or can only produce a non-Boolean: such a filter could never pass an event.

pub mod cesql;

mod attributes;

// proptest is a native dev-dependency: wasm-pack builds the lib tests for wasm32 too.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::fmt;

use serde_json::{Map, Value as Json};

pub use attributes::EventAttributes;
pub use cesql::{Expression, Value};

use crate::proto::ApiError;

/// Most bytes of filter JSON (compact) a channel may carry.
pub const MAX_FILTER_BYTES: usize = 64 * 1024;
/// Deepest nesting of filters (`all`, `any`, `not`, and a top-level array).
pub const MAX_FILTER_DEPTH: usize = 32;
/// Longest CESQL expression, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 4 * 1024;

/// One attribute test of `exact`, `prefix` or `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMatch {
    /// The attribute's name.
    pub attribute: String,
    /// The string its value is compared with (case-sensitive).
    pub value: String,
}

/// A channel filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Each attribute equals its value.
    Exact(Vec<AttributeMatch>),
    /// Each attribute starts with its value.
    Prefix(Vec<AttributeMatch>),
    /// Each attribute ends with its value.
    Suffix(Vec<AttributeMatch>),
    /// Every filter matches (a top-level array is one of these, and may be empty).
    All(Vec<Filter>),
    /// At least one filter matches.
    Any(Vec<Filter>),
    /// The filter does not match.
    Not(Box<Filter>),
    /// A CESQL expression evaluates to `true` without error.
    Sql(Expression),
}

/// Why a filter was refused (the edge answers `400 invalid_request` with the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The filter JSON is too large.
    #[error("the filter is over {limit} bytes of JSON")]
    TooLarge {
        /// The limit, [`MAX_FILTER_BYTES`].
        limit: usize,
    },
    /// Filters nest too deeply.
    #[error("filters nest deeper than {limit} levels at {at}")]
    TooDeep {
        /// Where, as a path like `$.all[0].not`.
        at: String,
        /// The limit, [`MAX_FILTER_DEPTH`].
        limit: usize,
    },
    /// A dialect this bus does not know.
    #[error("unknown filter dialect {dialect:?} at {at}; the dialects are exact, prefix, suffix, all, any, not and sql")]
    UnknownDialect {
        /// Where.
        at: String,
        /// The key given.
        dialect: String,
    },
    /// The JSON does not have the shape the dialect needs.
    #[error("{reason} (at {at})")]
    Invalid {
        /// Where.
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// A CESQL expression over [`MAX_EXPRESSION_BYTES`].
    #[error("the CESQL expression at {at} is {len} bytes; the limit is {limit}")]
    ExpressionTooLong {
        /// Where.
        at: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A CESQL expression that does not parse.
    #[error("invalid CESQL expression at {at}: {source}")]
    Sql {
        /// Where.
        at: String,
        /// The parser's error.
        source: cesql::ParseError,
    },
    /// Event text that is not a JSON object.
    #[error("the event is not a JSON object: {0}")]
    Event(String),
}

impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        ApiError::invalid(e.to_string())
    }
}

impl Filter {
    /// Parses a filter: one filter object, or an array of them that must all match.
    pub fn parse(json: &Json) -> Result<Filter, FilterError> {
        check_size(json)?;
        match json {
            Json::Array(items) => Ok(Filter::All(parse_each(items, &Path::Root, 1)?)),
            _ => parse_one(json, &Path::Root, 1),
        }
    }

    /// Whether the event passes the filter.
    pub fn matches(&self, event: &EventAttributes) -> bool {
        let each = |tests: &[AttributeMatch], test: fn(&str, &str) -> bool| {
            tests.iter().all(|m| event.get(&m.attribute).is_some_and(|v| test(&v.as_text(), &m.value)))
        };
        match self {
            Filter::Exact(tests) => each(tests, |v, want| v == want),
            Filter::Prefix(tests) => each(tests, |v, want| v.starts_with(want)),
            Filter::Suffix(tests) => each(tests, |v, want| v.ends_with(want)),
            Filter::All(filters) => filters.iter().all(|f| f.matches(event)),
            Filter::Any(filters) => filters.iter().any(|f| f.matches(event)),
            Filter::Not(filter) => !filter.matches(event),
            Filter::Sql(expression) => expression.matches(event),
        }
    }

    /// The filter as JSON that [`Filter::parse`] reads back to an equal filter.
    pub fn to_json(&self) -> Json {
        let attributes = |tests: &[AttributeMatch]| {
            Json::Object(tests.iter().map(|m| (m.attribute.clone(), Json::String(m.value.clone()))).collect())
        };
        let list = |filters: &[Filter]| Json::Array(filters.iter().map(Filter::to_json).collect());
        let (dialect, body) = match self {
            Filter::Exact(tests) => ("exact", attributes(tests)),
            Filter::Prefix(tests) => ("prefix", attributes(tests)),
            Filter::Suffix(tests) => ("suffix", attributes(tests)),
            // `{"all": []}` is refused, so the empty top-level array stays an array.
            Filter::All(filters) if filters.is_empty() => return Json::Array(Vec::new()),
            Filter::All(filters) => ("all", list(filters)),
            Filter::Any(filters) => ("any", list(filters)),
            Filter::Not(filter) => ("not", filter.to_json()),
            Filter::Sql(expression) => ("sql", Json::String(expression.source().to_owned())),
        };
        Json::Object(Map::from_iter([(dialect.to_owned(), body)]))
    }
}

/// Where in the filter JSON a part is, for messages: a list on the stack, so parsing
/// builds no strings unless it fails.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'static str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn invalid(at: &Path<'_>, reason: impl Into<String>) -> FilterError {
    FilterError::Invalid { at: at.to_string(), reason: reason.into() }
}

/// Refuses JSON over [`MAX_FILTER_BYTES`], counting its compact form without building it
/// and stopping at the limit.
fn check_size(json: &Json) -> Result<(), FilterError> {
    struct Budget(usize);
    impl std::io::Write for Budget {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.checked_sub(buf.len()).ok_or_else(|| std::io::Error::other("over the limit"))?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(Budget(MAX_FILTER_BYTES), json)
        .map_err(|_| FilterError::TooLarge { limit: MAX_FILTER_BYTES })
}

fn parse_each(items: &[Json], at: &Path<'_>, depth: usize) -> Result<Vec<Filter>, FilterError> {
    items.iter().enumerate().map(|(i, item)| parse_one(item, &Path::Index(at, i), depth + 1)).collect()
}

fn parse_one(json: &Json, at: &Path<'_>, depth: usize) -> Result<Filter, FilterError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(FilterError::TooDeep { at: at.to_string(), limit: MAX_FILTER_DEPTH });
    }
    let Some(object) = json.as_object() else {
        return Err(invalid(
            at,
            r#"a filter is a JSON object with one dialect key, like {"exact": {"type": "com.example.created"}}"#,
        ));
    };
    let mut entries = object.iter();
    let (Some((dialect, body)), None) = (entries.next(), entries.next()) else {
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        return Err(invalid(at, format!("a filter object has exactly one dialect key, not {keys:?}")));
    };
    Ok(match dialect.as_str() {
        "exact" => Filter::Exact(attribute_matches(body, &Path::Key(at, "exact"))?),
        "prefix" => Filter::Prefix(attribute_matches(body, &Path::Key(at, "prefix"))?),
        "suffix" => Filter::Suffix(attribute_matches(body, &Path::Key(at, "suffix"))?),
        "all" => Filter::All(filter_list(body, &Path::Key(at, "all"), depth)?),
        "any" => Filter::Any(filter_list(body, &Path::Key(at, "any"), depth)?),
        "not" => Filter::Not(Box::new(parse_one(body, &Path::Key(at, "not"), depth + 1)?)),
        "sql" => Filter::Sql(expression(body, &Path::Key(at, "sql"))?),
        other => return Err(FilterError::UnknownDialect { at: at.to_string(), dialect: other.to_owned() }),
    })
}

fn filter_list(body: &Json, at: &Path<'_>, depth: usize) -> Result<Vec<Filter>, FilterError> {
    match body.as_array() {
        Some(items) if !items.is_empty() => parse_each(items, at, depth),
        _ => Err(invalid(at, "takes a non-empty array of filters")),
    }
}

fn attribute_matches(body: &Json, at: &Path<'_>) -> Result<Vec<AttributeMatch>, FilterError> {
    let object = match body.as_object() {
        Some(object) if !object.is_empty() => object,
        _ => {
            return Err(invalid(
                at,
                r#"takes an object of one or more attributes and strings, like {"type": "com.example.created"}"#,
            ))
        }
    };
    object
        .iter()
        .map(|(name, value)| {
            if name == "data" || name == "data_base64" {
                return Err(invalid(at, "filters read context attributes and extensions, not data"));
            }
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
                return Err(invalid(
                    at,
                    format!(
                        "{name:?} is not a CloudEvents attribute name (lower-case letters a-z and digits)"
                    ),
                ));
            }
            match value.as_str() {
                Some(s) if !s.is_empty() => {
                    Ok(AttributeMatch { attribute: name.clone(), value: s.to_owned() })
                }
                Some(_) => Err(invalid(at, format!("the value for {name:?} must not be empty"))),
                None => Err(invalid(at, format!("the value for {name:?} must be a string"))),
            }
        })
        .collect()
}

fn expression(body: &Json, at: &Path<'_>) -> Result<Expression, FilterError> {
    let Some(text) = body.as_str() else {
        return Err(invalid(at, "takes a CESQL expression as a string"));
    };
    if text.len() > MAX_EXPRESSION_BYTES {
        return Err(FilterError::ExpressionTooLong {
            at: at.to_string(),
            len: text.len(),
            limit: MAX_EXPRESSION_BYTES,
        });
    }
    let expression =
        Expression::parse(text).map_err(|source| FilterError::Sql { at: at.to_string(), source })?;
    if let Some((name, arity)) = expression.missing_function() {
        return Err(invalid(at, format!("CESQL has no function {name} taking {arity} argument(s)")));
    }
    match expression.result_type() {
        Some(t) if t != cesql::Type::Boolean => {
            Err(invalid(at, format!("a CESQL filter must produce a Boolean; this expression produces {t}")))
        }
        _ => Ok(expression),
    }
}
