//! The client core in a real browser (headless Chromium, `wasm-pack test`): the session
//! state machine driving a real WebSocket to the Worker running in workerd.
//!
//! `scripts/test.sh` starts the Worker and passes its address at compile time:
//! `ISMLD_TEST_URL` (http://127.0.0.1:PORT) and `ISMLD_TEST_TOKEN` (the admin token).
#![cfg(all(target_arch = "wasm32", feature = "client"))]

use futures::channel::mpsc;
use futures::StreamExt;
use ismld::client::backoff::handler_delay;
use ismld::client::session::{Action, Phase, Session, SessionConfig};
use ismld::proto::frame::{ClientFrame, PubFrame, Settle};
use serde_json::value::RawValue;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

wasm_bindgen_test_configure!(run_in_browser);

enum Event {
    Open,
    Text(String),
    Closed(u16),
}

/// A browser WebSocket whose events arrive on a channel.
struct Socket {
    ws: WebSocket,
    rx: mpsc::UnboundedReceiver<Event>,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Socket {
    fn open(url: &str) -> Socket {
        let ws = WebSocket::new(url).expect("a WebSocket");
        let (tx, rx) = mpsc::unbounded();
        let on = |tx: mpsc::UnboundedSender<Event>, f: fn(JsValue) -> Event| {
            Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                let _ = tx.unbounded_send(f(e));
            })
        };
        let open = on(tx.clone(), |_| Event::Open);
        let message = on(tx.clone(), |e| {
            Event::Text(e.unchecked_into::<MessageEvent>().data().as_string().unwrap_or_default())
        });
        let close = on(tx, |e| Event::Closed(e.unchecked_into::<CloseEvent>().code()));
        ws.set_onopen(Some(open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(close.as_ref().unchecked_ref()));
        Socket { ws, rx, _handlers: vec![open, message, close] }
    }

    async fn next(&mut self) -> Event {
        self.rx.next().await.expect("socket events")
    }

    fn perform(&self, actions: &[Action]) {
        for a in actions {
            if let Action::Send { frame } = a {
                self.ws.send_with_str(frame).expect("send");
            }
        }
    }
}

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

#[wasm_bindgen_test]
fn backoff_arithmetic_is_the_same_in_wasm() {
    assert_eq!(handler_delay(5_000, 3), 20_000);
    let mut s = Session::new(SessionConfig::default());
    assert_eq!(s.phase(), Phase::Disconnected);
    assert!(s.stop(0).is_empty());
}

#[wasm_bindgen_test]
async fn a_session_consumes_over_a_real_websocket_to_the_worker() {
    let (Some(base), Some(token)) = (option_env!("ISMLD_TEST_URL"), option_env!("ISMLD_TEST_TOKEN")) else {
        panic!("ISMLD_TEST_URL and ISMLD_TEST_TOKEN must be set when building this test");
    };
    let topic = format!("browser-{}", now());
    let url = format!("{}/v1/topics/{topic}/channels/c/ws", base.replacen("http", "ws", 1));
    // A Worker that just started may refuse the very first upgrade while it loads: a few
    // attempts, as any client reconnects.
    let mut sock = Socket::open(&url);
    for attempt in 1.. {
        match sock.next().await {
            Event::Open => break,
            other if attempt < 5 => {
                let _ = other;
                sleep(500).await;
                sock = Socket::open(&url);
            }
            _ => panic!("the socket did not open in 5 attempts"),
        }
    }
    let mut session =
        Session::new(SessionConfig { token: Some(token.into()), max_in_flight: 2, ..Default::default() });
    sock.perform(&session.opened(now()));

    // Welcome, then publish one event over the same socket (consumer sockets take `pub`).
    let mut published = false;
    let mut delivered = None;
    let mut finished = false;
    let mut fin_ref = 0;
    while !finished {
        match sock.next().await {
            Event::Text(text) => {
                let value: Value = serde_json::from_str(&text).expect("JSON frame");
                if value["op"] == "ok" && value.get("seq").is_some() {
                    continue; // the pub's answer: not the session's
                }
                for a in session.received(now(), &text) {
                    match a {
                        Action::Welcome { .. } if !published => {
                            published = true;
                            let data = RawValue::from_string(r#"{"from":"chromium"}"#.into()).ok();
                            let frame = ClientFrame::Pub(PubFrame {
                                event: None,
                                data,
                                events: None,
                                ordering_key: None,
                                delay_ms: None,
                                ttl_ms: None,
                                reference: Some(Value::from("p1")),
                            });
                            sock.ws.send_with_str(&frame.encode()).expect("send pub");
                        }
                        Action::Deliver { id, attempt, event, .. } => {
                            let event: Value = serde_json::from_str(&event).expect("event");
                            assert_eq!(event["data"]["from"], "chromium");
                            assert_eq!(attempt, 1);
                            let (r, acts) =
                                session.settle(now(), Settle::Fin, &id, Some(r#"{"done":true}"#), None);
                            fin_ref = r;
                            sock.perform(&acts);
                            delivered = Some(id);
                        }
                        Action::Answer { reference, ok, .. } if reference == fin_ref => {
                            assert!(ok, "fin took effect");
                            finished = true;
                        }
                        Action::Fatal { code, message } => panic!("refused: {code} {message}"),
                        _ => {}
                    }
                }
            }
            Event::Closed(code) => panic!("socket closed with {code}"),
            Event::Open => {}
        }
    }
    assert!(delivered.is_some());
    assert_eq!(session.in_flight(), 0);
    sock.ws.close().ok();
    assert!(matches!(sock.next().await, Event::Closed(_)));
    let acts = session.closed(1000, "", 0.5);
    assert!(acts.iter().any(|a| matches!(a, Action::Reconnect { .. })));
}
