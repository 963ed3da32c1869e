//! Consumers without a socket: `settle` for pulled messages. (`pull` itself is a waiting
//! taker in the delivery loop; see `http.rs` and `delivery.rs`.)

use super::broker::Broker;
use super::frames::checkpoint_write;
use super::store::{Store, StoreResult};
use super::{ConsumerId, Millis};
use crate::proto::event::{check_json, MAX_JSON_DEPTH};
use crate::proto::frame::Settle;
use crate::proto::http::SettleBody;
use crate::proto::ApiError;
use serde_json::{json, Value};

/// Most items in one `settle`.
pub const MAX_SETTLE_ITEMS: usize = 1_000;

impl Broker {
    /// `POST .../settle`: each item as if settled alone, in order; answers the results.
    pub(super) fn settle_http(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        body: SettleBody,
    ) -> StoreResult<Result<String, ApiError>> {
        if body.settle.len() > MAX_SETTLE_ITEMS {
            return Ok(Err(ApiError::invalid(format!("settle takes at most {MAX_SETTLE_ITEMS} items"))));
        }
        let mut results: Vec<Value> = Vec::with_capacity(body.settle.len());
        for item in body.settle {
            let Some(verb) = Settle::from_op(&item.op) else {
                let e = ApiError::invalid(format!("op must be fin, touch, req or shelve, not {:?}", item.op));
                results.push(json!({ "id": item.id, "error": e }));
                continue;
            };
            // Checked as on a socket: a checkpoint is stored and delivered again.
            if let Some(Err(e)) = item.state.as_ref().map(|s| check_json(s.get(), MAX_JSON_DEPTH)) {
                results.push(json!({ "id": item.id, "error": e }));
                continue;
            }
            let cp = checkpoint_write(item.state.as_ref().map(|s| s.get()));
            let delay = item.delay_ms.unwrap_or(0);
            match self.settle_one(now, store, ch, ConsumerId::PULL, verb, &item.id, &cp, delay)? {
                Ok(Some(deadline)) => {
                    results.push(json!({ "id": item.id, "ok": true, "deadline": deadline }))
                }
                Ok(None) => results.push(json!({ "id": item.id, "ok": true })),
                Err(e) => results.push(json!({ "id": item.id, "error": e })),
            }
        }
        self.pump(now, store, ch)?;
        Ok(Ok(json!({ "results": results }).to_string()))
    }
}
