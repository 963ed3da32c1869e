//! A partition of a partitioned topic, in the pure broker: made by `PUT /v1/topics/{t}`
//! as the front Worker routes it, remembered across restarts, and naming its partition in
//! ids, answers and stats. (Routing and the fan-out are the front Worker's: see
//! tests/e2e/partitions.test.mjs.)

mod support;

use ismld::core::Partition;
use serde_json::json;
use support::Harness;

#[test]
fn a_partition_is_made_once_and_remembers_itself() {
    let mut h = Harness::new();
    h.routed = Partition { index: 2, count: 4 };
    let (status, body) = h.http("PUT", "/v1/topics/t", json!({ "partitions": 4 }));
    assert_eq!((status, body["partitions"].as_u64()), (201, Some(4)));
    assert_eq!(h.http("PUT", "/v1/topics/t", json!({ "partitions": 4 })).0, 200);
    let (status, body) = h.http("PUT", "/v1/topics/t", json!({ "partitions": 3 }));
    assert_eq!((status, body["partitions"].as_u64()), (409, Some(4)));

    h.restart();
    assert_eq!(h.broker.partition(), Partition { index: 2, count: 4 });
    let p = h.publish(json!({ "n": 1 }));
    assert_eq!((p["partition"].as_u64(), p["seq"].as_u64()), (Some(2), Some(1)));
    assert!(p["id"].as_str().unwrap().starts_with("02"), "{p}");
    let (_, stats) = h.http("GET", "/v1/topics/t", json!({}));
    assert_eq!((stats["partition"].as_u64(), stats["partitions"].as_u64()), (Some(2), Some(4)));

    // Deleting the topic forgets the partition too.
    assert_eq!(h.http("DELETE", "/v1/topics/t", json!({})).0, 204);
    assert_eq!(h.broker.partition(), Partition::default());
}

#[test]
fn a_driver_that_does_not_route_makes_topics_of_one_partition_only() {
    let mut h = Harness::new();
    let (status, body) = h.http("PUT", "/v1/topics/t", json!({ "partitions": 4 }));
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")));
    assert_eq!(h.http("PUT", "/v1/topics/t", json!({ "partitions": 1 })).0, 201);
    h.publish(json!({ "n": 1 }));
    assert_eq!(h.http("PUT", "/v1/topics/t", json!({})).0, 200, "an existing topic of one partition");
    for bad in [json!({ "partitions": 0 }), json!({ "partitions": 65 }), json!({ "partitions": "x" })] {
        assert_eq!(h.http("PUT", "/v1/topics/u", bad.clone()).0, 400, "{bad}");
    }
}
