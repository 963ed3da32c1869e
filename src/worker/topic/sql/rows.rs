//! Rows as the runtime hands them back (numbers as doubles).

use super::MsgRow;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct BodyRow {
    pub(super) body: String,
    pub(super) reply: f64,
}

#[derive(Deserialize)]
pub(super) struct SeqTsRow {
    pub(super) seq: f64,
    pub(super) ts: f64,
}

#[derive(Deserialize)]
pub(super) struct PairRow {
    pub(super) source: String,
    pub(super) eid: String,
    pub(super) seq: f64,
    pub(super) ts: f64,
}

#[derive(Deserialize)]
pub(super) struct ChannelData {
    pub(super) data: String,
}

#[derive(Deserialize)]
pub(super) struct CountRow {
    pub(super) state: f64,
    pub(super) n: f64,
    pub(super) keyed: f64,
}

#[derive(Deserialize)]
pub(super) struct MsgWithCheckpoint {
    #[serde(flatten)]
    pub(super) m: MsgRow,
    pub(super) checkpoint: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct DeadRowSql {
    pub(super) seq: f64,
    pub(super) failures: f64,
    pub(super) checkpoint: Option<String>,
    pub(super) body: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct LeaseSql {
    pub(super) channel: f64,
    pub(super) id: f64,
    pub(super) owner: f64,
    pub(super) deadline: f64,
    pub(super) max_attempts: f64,
    pub(super) timeout: f64,
    pub(super) seqs: String,
}
