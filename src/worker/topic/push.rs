//! Push deliveries of the topic object: the broker's [`Output::Push`] requests are
//! queued, and the object's alarm sends them, at most [`CONNECTIONS`] at a time (the
//! Workers limit of simultaneous outgoing connections per invocation), each within its
//! timeout, redirects not followed; each answer goes back to the broker
//! ([`crate::core::Broker::pushed`]), which may queue more. A long run hands over to a
//! fresh alarm. The queue is memory only: a restart gives the broker's in-flight pushes
//! back (they are rows), and it asks for them again.

use super::Topic;
use crate::core::Output;
use crate::proto::push::{outcome, PushOutcome};
use crate::worker::http::now_ms;
use futures::future::{select, Either};
use futures::stream::{FuturesUnordered, StreamExt};
use std::time::Duration;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

/// Most push requests in flight at once per invocation.
pub const CONNECTIONS: usize = 6;
/// An alarm sends pushes for at most this long, then sets another alarm to go on.
const RUN_MS: u64 = 60_000;
/// While pushes are out, what else is due is handled at least this often.
const TICK_MS: u64 = 250;

/// One push request waiting to be sent.
pub struct PushJob {
    channel: u32,
    seq: u64,
    attempt: u32,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout_ms: u64,
}

impl PushJob {
    /// The job of an [`Output::Push`] (`None` for any other output).
    pub fn of(o: Output) -> Option<PushJob> {
        match o {
            Output::Push { channel, seq, attempt, url, headers, body, timeout_ms } => {
                Some(PushJob { channel, seq, attempt, url, headers, body, timeout_ms })
            }
            _ => None,
        }
    }

    /// Takes the timestamp and signature of the time of sending.
    fn signed_now(&mut self, signed: [(String, String); 2]) {
        for (name, value) in signed {
            match self.headers.iter_mut().find(|(k, _)| *k == name) {
                Some(h) => h.1 = value,
                None => self.headers.push((name, value)),
            }
        }
    }
}

impl Topic {
    /// Sends the queued pushes (from the alarm), reporting each answer to the broker.
    pub(super) async fn send_pushes(&self) {
        if self.pushing.get() {
            return;
        }
        self.pushing.set(true);
        let started = now_ms();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < CONNECTIONS && now_ms() < started + RUN_MS {
                let Some(mut job) = self.push_queue.borrow_mut().pop_front() else { break };
                // It may have waited: a stale attempt or a paused channel's is not sent,
                // and the deadline of one that goes starts now.
                let now = now_ms();
                let (ch, seq, attempt) = (job.channel, job.seq, job.attempt);
                match self.run(now, |b, s| b.push_starting(now, s, ch, seq, attempt, &job.body)) {
                    Ok((go, out)) => {
                        self.apply(out).await;
                        if let Some(signed) = go {
                            job.signed_now(signed);
                            running.push(send(job));
                        }
                    }
                    Err(f) => {
                        let _ = self.failed("push.start_failed", f);
                    }
                }
            }
            if running.is_empty() && self.push_queue.borrow().is_empty() {
                break;
            }
            // The object's other timers run in this alarm too: they go on while pushes are out.
            let tick = Box::pin(Delay::from(Duration::from_millis(TICK_MS)));
            let (job, result) = match select(running.next(), tick).await {
                Either::Left((Some(done), _)) => done,
                Either::Left((None, _)) if now_ms() < started + RUN_MS => continue,
                Either::Left((None, _)) => break,
                Either::Right(_) => {
                    let now = now_ms();
                    if self.due(now) {
                        self.tick(now).await;
                    }
                    continue;
                }
            };
            let now = now_ms();
            match self.run(now, |b, s| b.pushed(now, s, job.channel, job.seq, job.attempt, &result)) {
                Ok(((), out)) => self.apply(out).await,
                Err(f) => {
                    let _ = self.failed("push.report_failed", f);
                }
            }
            if self.due(now) {
                self.tick(now).await;
            }
        }
        self.pushing.set(false);
        if !self.push_queue.borrow().is_empty() {
            self.set_alarm(now_ms()).await;
        }
    }
}

/// Most bytes of a push answer read (its body is not used).
const MAX_DRAIN_BYTES: usize = 64 << 10;

/// Reads a push answer's body to its end; false past [`MAX_DRAIN_BYTES`] or on an error.
async fn drain(mut body: worker::ByteStream) -> bool {
    let mut read = 0usize;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) if read + c.len() <= MAX_DRAIN_BYTES => read += c.len(),
            _ => return false,
        }
    }
    true
}

/// Sends one push request; answers what it means.
async fn send(job: PushJob) -> (PushJob, PushOutcome) {
    let result = post(&job).await;
    (job, result)
}

async fn post(job: &PushJob) -> PushOutcome {
    let failed = |e: String| PushOutcome::Failed(e);
    let headers = Headers::new();
    for (k, v) in &job.headers {
        if headers.append(k, v).is_err() {
            return failed(format!("bad header {k}"));
        }
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual)
        .with_body(Some(js_sys::Uint8Array::from(job.body.as_slice()).into()));
    let req = match Request::new_with_init(&job.url, &init) {
        Ok(r) => r,
        Err(e) => return failed(format!("bad request: {e}")),
    };
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(req);
    let sending = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Box::pin(Delay::from(Duration::from_millis(job.timeout_ms)));
    let answer = select(sending, timeout).await;
    let result = match answer {
        Either::Left((Ok(mut res), timeout)) => {
            let status = res.status_code();
            let retry_after = res.headers().get("retry-after").ok().flatten();
            // Drain a short answer within the same timeout, so the connection is free for
            // the next push; a long or endless one is cut off (its status stands).
            let drained = match res.stream() {
                Ok(body) => matches!(select(Box::pin(drain(body)), timeout).await, Either::Left((true, _))),
                Err(_) => false,
            };
            if !drained {
                controller.abort();
            }
            outcome(Some(status), retry_after.as_deref(), None, now_ms())
        }
        Either::Left((Err(e), _)) => failed(format!("request failed: {e}")),
        Either::Right(_) => {
            controller.abort();
            failed(format!("no answer within {} ms", job.timeout_ms))
        }
    };
    result
}
