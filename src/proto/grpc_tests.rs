//! Tests of `grpc.rs`.

use super::*;
use crate::proto::ApiError;
use prost::Message as _;
use std::collections::HashMap;

fn attr(a: Attr) -> v1::cloud_event::CloudEventAttributeValue {
    v1::cloud_event::CloudEventAttributeValue { attr: Some(a) }
}

#[test]
fn protobuf_events_become_json_events() {
    let mut attributes = HashMap::new();
    attributes.insert("datacontenttype".into(), attr(Attr::CeString("application/json".into())));
    attributes.insert("orderingkey".into(), attr(Attr::CeString("k".into())));
    attributes
        .insert("time".into(), attr(Attr::CeTimestamp(pbjson_types::Timestamp { seconds: 0, nanos: 0 })));
    let e = v1::CloudEvent {
        id: "1".into(),
        source: "/s".into(),
        spec_version: String::new(),
        r#type: "t".into(),
        attributes,
        data: Some(Data::TextData(r#"{"a":1}"#.into())),
    };
    let j = event_json(e).unwrap();
    assert_eq!(j["specversion"], "1.0");
    assert_eq!(j["data"]["a"], 1);
    assert_eq!(j["orderingkey"], "k");
    assert_eq!(j["time"], "1970-01-01T00:00:00Z");
    let bin = v1::CloudEvent { data: Some(Data::BinaryData(vec![0xff])), ..Default::default() };
    assert_eq!(event_json(bin).unwrap()["data_base64"], "/w==");
}

#[test]
fn reserved_attributes_and_bad_json_are_refused() {
    let mut attributes = HashMap::new();
    attributes.insert("id".into(), attr(Attr::CeString("x".into())));
    let e = v1::CloudEvent { attributes, ..Default::default() };
    assert_eq!(event_json(e).unwrap_err().code, Code::InvalidArgument);
}

#[test]
fn grpc_web_round_trip() {
    let req = v1::PublishRequest {
        topic: "t".into(),
        event: Some(v1::CloudEvent {
            id: "1".into(),
            source: "/s".into(),
            r#type: "x".into(),
            ..Default::default()
        }),
        ordering_key: String::new(),
        delay_ms: 5,
    };
    let body = frame(0, &req.encode_to_vec());
    let call = decode(Method::Publish, Protocol::GrpcWeb { json: false }, &body).unwrap();
    assert_eq!(call.topic, "t");
    assert_eq!(call.delay_ms, Some(5));
    assert_eq!(call.ordering_key, None);
    let answer = encode_answer(
        Method::Publish,
        Protocol::GrpcWeb { json: false },
        r#"{"topic":"t","id":"a","seq":3,"duplicate":false}"#,
    )
    .unwrap();
    let msg = unframe(&answer).unwrap();
    assert_eq!(v1::PublishResponse::decode(msg).unwrap().seq, 3);
    assert!(answer.ends_with(b"grpc-status: 0\r\ngrpc-message: \r\n"));
    assert!(decode(Method::Publish, Protocol::GrpcWeb { json: false }, &body[..3]).is_err());
}

#[test]
fn connect_json_uses_the_proto3_json_mapping() {
    let body =
        br#"{"topic":"t","events":[{"id":"1","source":"/s","type":"x","textData":"hi"}],"delayMs":"10"}"#;
    let call = decode(Method::PublishBatch, Protocol::Connect { json: true }, body).unwrap();
    assert!(call.batch);
    assert_eq!(call.delay_ms, Some(10));
    let events: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(events[0]["data"], "hi");
    let e = RpcError::from(ApiError::new(ErrorCode::StorageFull, "full"));
    let (status, _, body, headers) = encode_error(Protocol::Connect { json: true }, &e);
    assert_eq!(status, 429);
    assert_eq!(String::from_utf8(body).unwrap(), r#"{"code":"resource_exhausted","message":"full"}"#);
    assert_eq!(headers[0].1, "storage_full");
}

#[test]
fn all_codes_are_listed_once() {
    let mut names = std::collections::BTreeSet::new();
    let mut numbers = std::collections::BTreeSet::new();
    for c in Code::ALL {
        // A new variant fails to compile here: list it in Code::ALL (and in
        // docs/PROTOCOL.md, whose test reads Code::ALL).
        match c {
            Code::InvalidArgument
            | Code::DeadlineExceeded
            | Code::NotFound
            | Code::AlreadyExists
            | Code::PermissionDenied
            | Code::ResourceExhausted
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::Unauthenticated => {}
        }
        names.insert(c.as_str());
        numbers.insert(c.number());
    }
    assert_eq!(names.len(), Code::ALL.len());
    assert_eq!(numbers.len(), Code::ALL.len());
    for e in ErrorCode::ALL {
        let c = RpcError::from(ApiError::new(e, "x")).code;
        assert!(Code::ALL.contains(&c), "{e:?} maps to a listed code");
    }
}
