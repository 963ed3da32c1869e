//! Input the broker refuses whichever way it comes, changing nothing: a checkpoint or
//! response data that is not I-JSON (over HTTP `settle` as over a socket), a publish
//! refused for its options.

mod support;

use serde_json::{json, Value};
use support::Harness;

#[test]
fn a_settle_with_a_checkpoint_that_is_not_i_json_is_refused_and_stores_nothing() {
    let mut h = Harness::new();
    assert_eq!(h.http("PUT", "/v1/topics/t/channels/c", json!({})).0, 201);
    h.publish(json!({ "n": 1 }));
    let (status, got) = h.http("POST", "/v1/topics/t/channels/c/pull", json!({ "max": 1 }));
    assert_eq!(status, 200);
    let id = got["messages"][0]["id"].as_str().unwrap().to_owned();
    // A lone surrogate and a number no double holds: JSON, but not I-JSON.
    let items = format!(
        r#"{{"settle":[{{"op":"touch","id":"{id}","state":{{"s":"\ud800"}}}},
            {{"op":"touch","id":"{id}","state":{{"n":1e400}}}},
            {{"op":"req","id":"{id}","state":{{"step":1}}}}]}}"#
    );
    let path = "/v1/topics/t/channels/c/settle";
    let (status, answer) = h.http_raw("POST", path, &[], Some("application/json"), items.as_bytes());
    assert_eq!(status, 200, "{answer}");
    for i in 0..2 {
        assert_eq!(answer["results"][i]["error"]["code"], "invalid_request", "{answer}");
    }
    assert_eq!(answer["results"][2]["ok"], true, "the next item still counts: {answer}");
    let (_, again) = h.http("POST", "/v1/topics/t/channels/c/pull", json!({ "max": 1 }));
    assert_eq!(again["messages"][0]["checkpoint"], json!({ "step": 1 }), "only the valid checkpoint");
}

#[test]
fn a_respond_frame_with_data_that_is_not_i_json_is_refused() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 1 }));
    for (r, data) in [(9, r#"{"x":"\ud800"}"#), (10, "[1e400]")] {
        let text = format!(r#"{{"op":"respond","id":"0000000000000001","data":{data},"ref":{r}}}"#);
        h.send_text(c, &text);
        let last = h.inbox(c).last().cloned().unwrap_or(Value::Null);
        assert_eq!(
            (last["ref"].as_u64(), last["code"].as_str()),
            (Some(r), Some("invalid_request")),
            "{last}"
        );
    }
}

#[test]
fn a_publish_refused_for_its_delay_writes_nothing_even_on_a_smaller_dedup_memory() {
    let limits = ismld::proto::Limits { dedup_memory_pairs: 10, ..Default::default() };
    let mut h = Harness::with_limits(limits);
    let (status, body) = h.http_raw(
        "POST",
        "/v1/topics/t/events",
        &[("delay_ms", "999999999999")],
        Some("application/json"),
        b"{}",
    );
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")), "{body}");
    assert_eq!(h.store.rows_written, 0, "nothing stored for a refused publish");
}

#[test]
fn a_pull_naming_a_partition_the_topic_lacks_is_refused() {
    let mut h = Harness::new();
    assert_eq!(h.http("PUT", "/v1/topics/t/channels/c", json!({})).0, 201);
    h.publish(json!({ "n": 1 }));
    let (status, body) = h.http("POST", "/v1/topics/t/channels/c/pull", json!({ "partition": 7 }));
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")), "{body}");
    let (status, body) = h.http("POST", "/v1/topics/t/channels/c/pull", json!({ "partition": 0 }));
    assert_eq!((status, body["messages"].as_array().map(Vec::len)), (200, Some(1)), "{body}");
}
