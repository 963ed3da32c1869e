//! HTTP on the topic object: operations (read the body within its cap, run the broker,
//! answer once durable; wait for a response or a long-polling pull) and WebSocket
//! upgrades (refused with `503` when too many sockets wait for their `hello`).

use super::attach::{self, Attachment};
use super::{Topic, CALLER_HEADER, CLIENT_GEN_HEADER, SMALL_BODY, SOURCE_HEADER};
use crate::core::{Answer, Caller, Operation, TopicRequest};
use crate::proto::nsq::{Framing, FRAMING_HEADER};
use crate::proto::route::{ChannelOp, TopicOp};
use crate::proto::{ChannelName, ErrorCode, TopicName};
use crate::worker::http;
use futures::channel::oneshot;
use futures::future::{select, Either};
use worker::{Request, Response, Result, WebSocketPair};

/// The largest body of a channel operation: `settle` takes up to 1,000 items, each with a
/// checkpoint of up to 64 KiB, so the batch limit; the others 64 KiB.
pub fn channel_body_cap(op: ChannelOp, limits: &crate::proto::Limits) -> usize {
    match op {
        ChannelOp::Settle => limits.max_batch_bytes,
        _ => SMALL_BODY,
    }
}

impl Topic {
    /// Serves an HTTP operation.
    pub(super) async fn operation(
        &self,
        now: u64,
        req: &mut Request,
        topic: &TopicName,
        op: Operation,
    ) -> Result<Response> {
        let publish = matches!(op, Operation::Topic(TopicOp::Publish | TopicOp::Request));
        let content_type = req.headers().get("content-type")?;
        let many = crate::proto::publish::is_batch(content_type.as_deref())
            || req
                .headers()
                .get(FRAMING_HEADER)?
                .as_deref()
                .and_then(Framing::parse)
                .is_some_and(|f| f != Framing::One);
        // The limit that applies, named in the refusal: a batch's, an event's, or 64 KiB.
        let (cap, limit) = match (publish, many) {
            (true, true) => (self.limits.max_batch_bytes, "a batch's limit (MAX_BATCH_BYTES)"),
            (true, false) => (self.limits.max_event_bytes, "an event's limit (MAX_EVENT_BYTES)"),
            (false, _) => match &op {
                Operation::Channel(_, c @ ChannelOp::Settle) => {
                    (channel_body_cap(*c, &self.limits), "a settle's limit (MAX_BATCH_BYTES)")
                }
                _ => (SMALL_BODY, "this endpoint's limit"),
            },
        };
        let body = match http::read_body(req, cap).await? {
            Ok(b) => b,
            Err(_) => {
                let e = crate::proto::ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the body is over {cap} bytes, {limit}"),
                );
                return http::error(&e);
            }
        };
        let query = http::query(req);
        let headers: Vec<(String, String)> = req.headers().entries().collect();
        let source = req.headers().get(SOURCE_HEADER)?.unwrap_or_else(|| "/anonymous".into());
        let nsq = req.headers().get(FRAMING_HEADER)?.as_deref().and_then(Framing::parse);
        let request = TopicRequest {
            topic,
            op,
            query: &query,
            headers: &headers,
            content_type: content_type.as_deref(),
            body: &body,
            source: &source,
            nsq,
            entropy: http::entropy(),
            routed: super::partition_of(req),
        };
        let expected = super::partition_of(req);
        let creating = matches!(request.op, Operation::Topic(TopicOp::Create));
        let served = self.run(now, |b, s| {
            if b.partition() != expected && !creating {
                return Ok(Err(b.partition()));
            }
            b.http(now, s, &request).map(Ok)
        });
        let (answer, outputs) = match served {
            Ok((Ok(a), out)) => (a, out),
            Ok((Err(have), _)) => return Topic::misrouted(have),
            Err(f) => return http::error(&self.failed("request.failed", f)),
        };
        self.apply(outputs).await;
        match answer {
            Answer::Done { status, body } => {
                // A 2xx answer to a write (a 201 above all) means it is durable: the output
                // gate holds the answer until the commit is.
                self.flush();
                if status == 204 {
                    return http::no_content();
                }
                http::json_text(status, body)
            }
            Answer::AwaitResponse { seq, id, timeout_ms } => self.await_response(seq, &id, timeout_ms).await,
            Answer::AwaitPull { waiter, wait_ms } => self.await_pull(now, waiter, wait_ms).await,
        }
    }

    /// Waits for the first response to request `seq` (a duplicate request waits on the
    /// same one).
    async fn await_response(&self, seq: u64, id: &str, timeout_ms: u64) -> Result<Response> {
        let (tx, rx) = oneshot::channel();
        self.responses.borrow_mut().entry(seq).or_default().push(tx);
        // The request's delivery deadline is armed before the wait.
        self.sync_alarm().await;
        let timeout = worker::Delay::from(std::time::Duration::from_millis(timeout_ms));
        match select(rx, timeout).await {
            Either::Left((Ok(event), _)) => {
                let mut r = Response::ok(event)?;
                r.headers_mut().set("content-type", "application/cloudevents+json")?;
                Ok(r)
            }
            other => {
                // The receiver is dropped first, so this waiter's sender reads as canceled
                // (the match would keep it alive to the end of the arm).
                drop(other);
                let mut responses = self.responses.borrow_mut();
                if let Some(list) = responses.get_mut(&seq) {
                    list.retain(|w| !w.is_canceled());
                    if list.is_empty() {
                        responses.remove(&seq);
                    }
                }
                drop(responses);
                match Answer::request_timeout(id, timeout_ms) {
                    Answer::Done { status, body } => http::json_text(status, body),
                    _ => http::fail(ErrorCode::Timeout, "timeout"),
                }
            }
        }
    }

    /// Waits up to `wait_ms` for a pull's messages.
    async fn await_pull(&self, now: u64, waiter: u64, wait_ms: u64) -> Result<Response> {
        let (tx, mut rx) = oneshot::channel();
        self.pulls.borrow_mut().insert(waiter, tx);
        let timeout = worker::Delay::from(std::time::Duration::from_millis(wait_ms));
        let body = match select(&mut rx, timeout).await {
            Either::Left((Ok(body), _)) => body,
            _ => {
                self.pulls.borrow_mut().remove(&waiter);
                match self.run(now, |b, _| Ok(b.pull_expired(waiter))) {
                    Ok((Some(empty), out)) => {
                        self.apply(out).await;
                        empty
                    }
                    // Its messages were taken just now: they are on their way.
                    Ok((None, out)) => {
                        self.apply(out).await;
                        rx.try_recv().ok().flatten().unwrap_or_else(|| r#"{"messages":[]}"#.into())
                    }
                    Err(f) => return http::error(&self.failed("pull.failed", f)),
                }
            }
        };
        http::json_text(200, body)
    }

    /// Accepts a WebSocket upgrade: a consumer of `channel`, or a publisher socket.
    pub(super) async fn accept(
        &self,
        now: u64,
        req: &Request,
        topic: &TopicName,
        channel: Option<ChannelName>,
    ) -> Result<Response> {
        if !req.headers().get("upgrade")?.is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
            return http::fail(
                ErrorCode::InvalidRequest,
                "expected a WebSocket upgrade (Upgrade: websocket)",
            );
        }
        let caller: Option<Caller> =
            req.headers().get(CALLER_HEADER)?.and_then(|h| attach::caller_from_header(&h));
        let gen = req.headers().get(CLIENT_GEN_HEADER)?.and_then(|g| g.parse::<u64>().ok());
        // Shown in the channel's stats only (Cloudflare sets it; bounded all the same).
        let address = req.headers().get("cf-connecting-ip")?.filter(|a| a.len() <= 64);
        let id = http::socket_id();
        let expected = super::partition_of(req);
        let opened = self.run(now, |b, _| {
            if b.partition() != expected {
                return Ok(Err(Err(b.partition())));
            }
            Ok(b.open(now, id, channel.as_ref(), caller.as_ref(), address.as_deref()).map_err(Ok))
        });
        let outputs = match opened {
            Ok((Ok(()), out)) => out,
            Ok((Err(Err(have)), _)) => return Topic::misrouted(have),
            Ok((Err(Ok(e)), out)) => {
                self.apply(out).await;
                return http::error(&e);
            }
            Err(f) => return http::error(&self.failed("socket.failed", f)),
        };
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        // Signed in as a client on the upgrade: its credentials are checked again later,
        // as a `hello`'s are, so deleting the client closes the socket.
        let login = gen.and(caller.as_ref().and_then(|c| c.login.clone()));
        let att = Attachment {
            topic: topic.as_str().to_owned(),
            gen: gen.unwrap_or_default(),
            verified_at: if login.is_some() { now } else { 0 },
            login,
            ..Default::default()
        };
        self.attachments.put(&pair.server, att);
        if let Ok(mut slot) = self.loaded.try_borrow_mut() {
            if let Some(l) = slot.as_mut() {
                l.sockets.insert(id, pair.server.clone());
            }
        }
        self.apply(outputs).await;
        Response::from_websocket(pair.client)
    }
}
