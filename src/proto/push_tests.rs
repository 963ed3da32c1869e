use super::*;

fn config() -> PushConfig {
    PushConfig { url: "http://127.0.0.1:9/hook".into(), ..Default::default() }.checked(&[7; 16]).unwrap()
}

#[test]
fn signs_as_the_standard_webhooks_example() {
    // The example of the Standard Webhooks specification.
    let sig = signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_330,
        br#"{"test": 2432232314}"#,
    );
    assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    assert_eq!(signature("nope", "a", 1, b""), None);
}

#[test]
fn settings_take_defaults_and_refuse_what_is_wrong() {
    let c = config();
    assert_eq!(
        (c.max_in_flight, c.timeout_ms, c.max_attempts, c.retry_ms),
        (Some(10), Some(30_000), Some(0), Some(1_000))
    );
    assert!(c.secret.as_deref().unwrap().starts_with("whsec_"));
    assert_ne!(c.secret, config_with(&[8; 16]).secret, "secrets come from the entropy");
    assert_eq!(c.view().secret, None);
    let bad = |p: PushConfig| p.checked(&[0; 16]).unwrap_err().code;
    let base = PushConfig { url: "https://example.com".into(), ..Default::default() };
    for p in [
        PushConfig { url: "ftp://x".into(), ..Default::default() },
        PushConfig { max_in_flight: Some(0), ..base.clone() },
        PushConfig { max_in_flight: Some(101), ..base.clone() },
        PushConfig { retry_ms: Some(600_001), ..base.clone() },
        PushConfig { secret: Some("whsec_short".into()), ..base.clone() },
        PushConfig { headers: [("webhook-id".to_owned(), "x".to_owned())].into(), ..base.clone() },
        PushConfig { headers: [("x-a".to_owned(), "a\r\nb".to_owned())].into(), ..base.clone() },
    ] {
        assert_eq!(bad(p), crate::proto::ErrorCode::InvalidRequest);
    }
    let mine = PushConfig { secret: c.secret.clone(), ..base.clone() }.checked(&[0; 16]).unwrap();
    assert_eq!(mine.secret, c.secret, "a given secret is kept");
    assert!(mine.same_as(&PushConfig { secret: None, ..mine.clone() }));
    assert!(!mine.same_as(&PushConfig { retry_ms: Some(5), ..mine.clone() }));
}

fn config_with(e: &[u8; 16]) -> PushConfig {
    PushConfig { url: "http://127.0.0.1:9/hook".into(), ..Default::default() }.checked(e).unwrap()
}

#[test]
fn retries_double_up_to_ten_minutes() {
    let c = config();
    assert_eq!([1, 2, 3, 4].map(|f| c.retry_delay(f)), [1_000, 2_000, 4_000, 8_000]);
    assert_eq!(c.retry_delay(40), MAX_RETRY_MS);
}

#[test]
fn a_delivery_is_binary_mode_and_signed() {
    let c = config();
    let event = r#"{"specversion":"1.0","id":"e1","source":"/s","type":"t","subject":"a b","orderingkey":"k","data":{"x": 1.50}}"#;
    let r = request(&c, event, "0000000000000007", 7, 0, 2, 1_700_000_000_123).unwrap();
    let h = |n: &str| r.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(r.body, br#"{"x": 1.50}"#, "the data byte for byte");
    assert_eq!(h("content-type"), Some("application/json"));
    assert_eq!(
        (h("ce-id"), h("ce-source"), h("ce-subject"), h("ce-orderingkey")),
        (Some("e1"), Some("/s"), Some("a%20b"), Some("k"))
    );
    assert_eq!(h("webhook-id"), Some("0000000000000007-2"));
    assert_eq!(h("webhook-timestamp"), Some("1700000000"));
    let sig = signature(c.secret.as_deref().unwrap(), "0000000000000007-2", 1_700_000_000, &r.body).unwrap();
    assert_eq!(h("webhook-signature"), Some(sig.as_str()));
    assert_eq!((h("ismld-attempt"), h("ismld-seq"), h("ismld-partition")), (Some("2"), Some("7"), Some("0")));

    let text = r#"{"specversion":"1.0","id":"e2","source":"/s","type":"t","datacontenttype":"text/plain","data":"héllo"}"#;
    let r = request(&c, text, "x", 1, 3, 1, 0).unwrap();
    assert_eq!(r.body, "héllo".as_bytes());
    assert!(r.headers.contains(&("content-type".into(), "text/plain".into())));
    // A JSON string is JSON text in a JSON content type (or none, which means JSON).
    for ct in [
        r#""datacontenttype":"application/json","#,
        r#""datacontenttype":"application/ce+json; charset=utf-8","#,
        "",
    ] {
        let e = format!(r#"{{"specversion":"1.0","id":"e4","source":"/s","type":"t",{ct}"data":"hi"}}"#);
        let r = request(&c, &e, "x", 1, 0, 1, 0).unwrap();
        assert_eq!(r.body, br#""hi""#, "{ct}");
        assert!(r.headers.iter().any(|(k, v)| k == "content-type" && v.contains("json")), "{ct}");
    }
    let bin = r#"{"specversion":"1.0","id":"e3","source":"/s","type":"t","datacontenttype":"application/octet-stream","data_base64":"AAEC"}"#;
    assert_eq!(request(&c, bin, "x", 1, 0, 1, 0).unwrap().body, vec![0, 1, 2]);
}

#[test]
fn answers_mean_done_retry_gone_or_failed() {
    assert_eq!(outcome(Some(204), None, None, 0), PushOutcome::Done);
    assert_eq!(outcome(Some(429), Some("3"), None, 0), PushOutcome::RetryAfter(3_000));
    assert_eq!(
        outcome(Some(503), Some("Wed, 21 Oct 2015 07:28:10 GMT"), None, 1_445_412_480_000),
        PushOutcome::RetryAfter(10_000)
    );
    assert_eq!(outcome(Some(429), None, None, 0), PushOutcome::Failed("HTTP 429".into()));
    assert_eq!(outcome(Some(410), None, None, 0), PushOutcome::Gone);
    assert_eq!(outcome(Some(500), Some("1"), None, 0), PushOutcome::Failed("HTTP 500".into()));
    assert_eq!(outcome(None, None, Some("timeout"), 0), PushOutcome::Failed("timeout".into()));
}
