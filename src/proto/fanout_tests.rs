use super::*;

fn raw(s: &str) -> Box<RawValue> {
    RawValue::from_string(s.to_owned()).unwrap()
}

fn answered(status: u16, body: Value) -> Answered {
    Answered { status, body: body.to_string() }
}

#[test]
fn groups_by_partition_and_sends_the_unrouted_to_one() {
    let parts = group(&[Some(2), None, Some(0), Some(2), None], 1);
    assert_eq!(parts, vec![(0, vec![2]), (1, vec![1, 4]), (2, vec![0, 3])]);
    let items = [raw(r#"{"id":"a"}"#), raw("[1]"), raw(r#""x""#)];
    let refs: Vec<&RawValue> = items.iter().map(|b| b.as_ref()).collect();
    assert_eq!(array_of(&refs, &[2, 0]), r#"["x",{"id":"a"}]"#);
}

#[test]
fn a_batch_answer_keeps_input_order_and_names_the_refused_part() {
    let ok = |ids: &[(&str, u64, u32)]| {
        let results: Vec<Value> = ids
            .iter()
            .map(|(id, seq, p)| json!({"id": id, "seq": seq, "partition": p, "duplicate": false}))
            .collect();
        answered(201, json!({"topic": "t", "results": results}))
    };
    let all =
        merge_batch("t", 3, &[(vec![1], ok(&[("b", 1, 0)])), (vec![0, 2], ok(&[("a", 1, 1), ("c", 2, 1)]))]);
    assert_eq!(all.status, 201);
    let v: Value = serde_json::from_str(&all.body).unwrap();
    let ids: Vec<&str> = v["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "c"]);

    let full = answered(507, json!({"error": {"code": "storage_full", "message": "full"}}));
    let some = merge_batch("t", 3, &[(vec![1], full), (vec![0, 2], ok(&[("a", 1, 1), ("c", 2, 1)]))]);
    assert_eq!(some.status, 507, "the refused part's status");
    let v: Value = serde_json::from_str(&some.body).unwrap();
    assert_eq!(v["error"]["code"], "storage_full");
    assert_eq!(v["results"][0]["seq"], 1);
    assert_eq!(v["results"][1]["error"]["code"], "storage_full");
    assert_eq!(v["results"][2]["id"], "c");
}

#[test]
fn stats_add_up_and_list_each_partition() {
    let part = |seq, depth, paused| TopicStats {
        topic: "t".into(),
        seq,
        retained: seq,
        partition: None,
        partitions: 2,
        channels: vec![ChannelStats { channel: "c".into(), depth, paused, ..Default::default() }],
    };
    let s = merge_stats("t", 2, vec![(0, part(3, 1, false)), (1, part(4, 2, true))]);
    assert_eq!((s.seq, s.retained, s.partitions), (7, 7, 2));
    let c = &s.channels[0];
    assert_eq!((c.depth, c.paused), (3, true));
    let each = c.partitions.as_ref().unwrap();
    assert_eq!(each.iter().map(|c| (c.partition, c.depth)).collect::<Vec<_>>(), [(Some(0), 1), (Some(1), 2)]);
}

#[test]
fn channel_operations_merge_into_one_answer() {
    let stats = |status, depth| {
        answered(status, json!(ChannelStats { channel: "c".into(), depth, ..Default::default() }))
    };
    let made = merge_channel_op("c", vec![(0, stats(200, 1)), (1, stats(201, 2))]);
    assert_eq!(made.status, 201, "made on some partition");
    let v: Value = serde_json::from_str(&made.body).unwrap();
    assert_eq!(v["depth"], 3);
    assert_eq!(v["partitions"].as_array().unwrap().len(), 2);

    let counts = merge_channel_op(
        "c",
        vec![(0, answered(200, json!({"ready": 2}))), (1, answered(200, json!({"ready": 5})))],
    );
    assert_eq!(serde_json::from_str::<Value>(&counts.body).unwrap()["ready"], 7);

    let gone = Answered { status: 204, body: String::new() };
    let nf = answered(404, json!({"error": {"code": "not_found", "message": "no channel c"}}));
    assert_eq!(merge_channel_op("c", vec![(0, gone.clone()), (1, nf.clone())]).status, 204);
    assert_eq!(merge_channel_op("c", vec![(0, nf.clone()), (1, nf)]).status, 404);
    let bad = answered(409, json!({"error": {"code": "conflict", "message": "filter"}}));
    assert_eq!(merge_channel_op("c", vec![(0, gone), (1, bad)]).status, 409, "a refusal wins");
}

#[test]
fn settles_split_by_the_id_partition_and_merge_in_order() {
    let body = br#"{"settle":[{"op":"fin","id":"0100000000000001"},{"op":"fin","id":"0000000000000002"},{"op":"fin","id":"zz"}]}"#;
    let items = settle_items(body).unwrap();
    let routes: Vec<Option<u32>> = items.iter().map(|(p, _)| *p).collect();
    assert_eq!(routes, [Some(1), Some(0), None]);
    let raws: Vec<&RawValue> = items.iter().map(|(_, r)| *r).collect();
    let parts = group(&routes, 0);
    assert_eq!(parts, vec![(0, vec![1, 2]), (1, vec![0])]);
    let p0 = answered(
        200,
        json!({"results": [{"id": "0000000000000002", "ok": true}, {"id": "zz", "error": {"code": "not_found", "message": "x"}}]}),
    );
    let p1 = answered(503, json!({"error": {"code": "unavailable", "message": "busy"}}));
    let merged = merge_settle(3, &raws, &[(vec![1, 2], p0), (vec![0], p1)]);
    let v: Value = serde_json::from_str(&merged.body).unwrap();
    assert_eq!(v["results"][0]["id"], "0100000000000001");
    assert_eq!(v["results"][0]["error"]["code"], "unavailable");
    assert_eq!(v["results"][1]["ok"], true);
    assert_eq!(v["results"][2]["error"]["code"], "not_found");
    assert!(settle_items(b"{}").is_err());
}

#[test]
fn dead_letter_cursors_name_their_partition() {
    assert_eq!(dead_cursor(None).unwrap(), (0, None));
    assert_eq!(dead_cursor(Some(&dead_cursor_start(3))).unwrap(), (3, None));
    assert_eq!(dead_cursor(Some("0200000000000009")).unwrap(), (2, Some("0200000000000009".into())));
    assert!(dead_cursor(Some("nope")).is_err());
}
