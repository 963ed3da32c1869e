//! Reading `docs/PROTOCOL.md`'s marked tables, for the wire reference tests
//! (`wire_reference.rs`: frames, codes and examples; `wire_reference_http.rs`: routes,
//! limits, constants, stats, metrics, push, gRPC and NSQ). The convention: a marker line
//! `<!-- wire:{name} -->`, then a Markdown table; its header row and separator are
//! skipped; a row's first cell holds one backticked key; numbers are written without
//! separators.
#![allow(dead_code)] // each test file uses some of these

use serde_json::Value;
use std::collections::BTreeSet;

pub const DOC: &str = include_str!("../../docs/PROTOCOL.md");

/// Every marked table this test reads.
pub const TABLES: &[&str] = &[
    "message-ids",
    "errors",
    "routes",
    "topic-stats",
    "channel-stats",
    "attached-consumer",
    "metrics",
    "fnv",
    "push-settings",
    "push-headers",
    "signature",
    "client-frames",
    "server-frames",
    "close",
    "nsq-codes",
    "grpc-codes",
    "limits",
    "fixed-limits",
    "constants",
];

/// The rows of the table after `<!-- wire:{name} -->`, as cells.
pub fn table(name: &str) -> Vec<Vec<String>> {
    let marker = format!("<!-- wire:{name} -->");
    let lines: Vec<&str> = DOC.lines().collect();
    let at: Vec<usize> =
        lines.iter().enumerate().filter(|(_, l)| l.trim() == marker).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "docs/PROTOCOL.md has the marker {marker} once");
    let rows: Vec<&str> = lines[at[0] + 1..]
        .iter()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.trim_start().starts_with('|'))
        .copied()
        .collect();
    assert!(rows.len() > 2, "a table with a header, a separator and rows follows {marker}");
    assert!(rows[1].contains("---"), "the second line after {marker} is the separator");
    rows[2..]
        .iter()
        .map(|r| {
            let r = r.trim().trim_start_matches('|').trim_end_matches('|');
            r.split('|').map(|c| c.trim().to_owned()).collect()
        })
        .collect()
}

/// Every backticked span of a cell.
pub fn ticks(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The one backticked span of a key cell.
pub fn key(cell: &str) -> String {
    let t = ticks(cell);
    assert_eq!(t.len(), 1, "the cell {cell:?} holds one backticked key");
    t[0].clone()
}

/// Every whole number of a cell.
pub fn ints(cell: &str) -> Vec<u64> {
    cell.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect()
}

/// The number a cell starts with.
pub fn int(cell: &str) -> u64 {
    let digits: String = cell.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("the cell {cell:?} starts with a number"))
}

/// The first cell's key of every row.
pub fn keys(rows: &[Vec<String>]) -> BTreeSet<String> {
    let list: Vec<String> = rows.iter().map(|r| key(&r[0])).collect();
    let set: BTreeSet<String> = list.iter().cloned().collect();
    assert_eq!(set.len(), list.len(), "no key is listed twice: {list:?}");
    set
}

pub fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

/// The keys of a JSON object's text, without `op`.
pub fn fields(json: &str) -> BTreeSet<String> {
    let v: Value = serde_json::from_str(json).unwrap();
    v.as_object().unwrap().keys().filter(|k| *k != "op").cloned().collect()
}

/// A row's fields column: backticked names, or none.
pub fn listed_fields(cell: &str) -> BTreeSet<String> {
    ticks(cell).into_iter().collect()
}
