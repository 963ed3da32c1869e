//! Small helpers for HTTP answers: JSON bodies and the contract's error body.

use crate::proto::{ApiError, ErrorCode};
use futures::StreamExt;
use serde::Serialize;
use worker::{Headers, Request, Response, Result};

/// A JSON answer with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    let text = serde_json::to_string(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    json_text(status, text)
}

/// A JSON answer from text already encoded.
pub fn json_text(status: u16, text: String) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(Response::ok(text)?.with_status(status).with_headers(headers))
}

/// A plain text answer with `status`.
pub fn text(status: u16, text: String) -> Result<Response> {
    Ok(Response::ok(text)?.with_status(status))
}

/// The contract's error answer.
pub fn error(e: &ApiError) -> Result<Response> {
    json_text(e.code.http_status(), e.to_body())
}

/// Shorthand: an error answer from a code and a message.
pub fn fail(code: ErrorCode, message: impl Into<String>) -> Result<Response> {
    error(&ApiError::new(code, message))
}

/// `204 No Content`.
pub fn no_content() -> Result<Response> {
    Ok(Response::empty()?.with_status(204))
}

/// A name as one path segment of a request the bus makes itself (every byte but letters
/// and digits percent-encoded).
pub fn segment(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The query parameters, decoded. Read from the raw URL (not `Request::url`, whose full
/// URL parser brings IDNA host tables, ~100 KB, into the wasm).
pub fn query(req: &Request) -> Vec<(String, String)> {
    let url = req.inner().url();
    let Some((_, rest)) = url.split_once('?') else { return Vec::new() };
    let query = rest.split_once('#').map_or(rest, |(q, _)| q);
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Whether the request declares (`Content-Length`) a body longer than `limit`, so it can
/// be refused before it is read.
pub fn declared_over(req: &Request, limit: usize) -> Result<bool> {
    Ok(declared(req)?.is_some_and(|n| n > limit))
}

/// The body length the request declares (`Content-Length`), if any.
fn declared(req: &Request) -> Result<Option<usize>> {
    Ok(req.headers().get("content-length")?.and_then(|v| v.parse().ok()))
}

/// Bodies up to this size are read and dropped before an early refusal: above the
/// largest body any endpoint takes (a 5 MiB batch), so a body a little over its limit
/// still gets a readable `413`.
const DISCARD_LIMIT: usize = 16 << 20;

/// Reads and drops what is left of the request's body (up to [`DISCARD_LIMIT`] bytes)
/// before an early refusal (a bad credential, a forbidden topic, a bad query): answering
/// while the client is still writing makes the runtime close the connection, and the
/// client sees a broken pipe instead of the refusal. A body declared over the limit is
/// left alone (the connection is closed; so does every HTTP server).
pub async fn discard_body(req: &mut Request) {
    if declared_over(req, DISCARD_LIMIT).unwrap_or(true) {
        return;
    }
    let Ok(mut stream) = req.stream() else { return };
    let mut read = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > DISCARD_LIMIT {
            return;
        }
    }
}

/// Reads a request's body, at most `cap` bytes, with or without `Content-Length`
/// (chunked bodies are counted while they arrive): over the cap is `413`, answered once
/// the rest is read and dropped (up to [`DISCARD_LIMIT`] bytes; a bigger body is cut off).
pub async fn read_body(req: &mut Request, cap: usize) -> Result<std::result::Result<Vec<u8>, ApiError>> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is over {cap} bytes, this endpoint's limit"),
        )
    };
    match declared(req)? {
        Some(n) if n > cap => {
            discard_body(req).await;
            return Ok(Err(too_large()));
        }
        // Within the cap: the whole body in one call (the runtime holds the request to its
        // declared length), not a promise per chunk.
        Some(_) => return Ok(Ok(req.bytes().await?)),
        None => {}
    }
    let Ok(mut stream) = req.stream() else { return Ok(Ok(Vec::new())) };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > cap {
            // The refusal is read cleanly only once the client has sent its body.
            let mut read = body.len() + chunk.len();
            while let Some(Ok(chunk)) = stream.next().await {
                read += chunk.len();
                if read > DISCARD_LIMIT {
                    break;
                }
            }
            return Ok(Err(too_large()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Ok(body))
}

/// 16 fresh random bytes (for the ids of events the bus makes). They come from a pool
/// filled by one call to the runtime's CSPRNG per 64 draws: a call into the runtime per
/// frame was ~3% of a socket publish's profile.
pub fn entropy() -> [u8; 16] {
    thread_local! {
        static POOL: std::cell::RefCell<([u8; 1024], usize)> = const { std::cell::RefCell::new(([0; 1024], 1024)) };
    }
    let mut e = [0u8; 16];
    let drawn = POOL.with(|p| {
        let Ok(mut p) = p.try_borrow_mut() else { return false };
        let (pool, used) = &mut *p;
        if *used + 16 > pool.len() {
            if getrandom::getrandom(pool).is_err() {
                return false;
            }
            *used = 0;
        }
        e.copy_from_slice(&pool[*used..*used + 16]);
        // Each draw is handed out once.
        pool[*used..*used + 16].fill(0);
        *used += 16;
        true
    });
    if !drawn {
        // No randomness from the runtime: the clock still makes ids unique per call.
        e[..8].copy_from_slice(&now_ms().to_le_bytes());
    }
    e
}

/// A random socket id in [2^32, 2^52): above the reserved ids, and exact as a
/// JavaScript number (the runtime hands SQLite integers back as doubles).
pub fn socket_id() -> u64 {
    let e = entropy();
    let mut b = [0u8; 8];
    b.copy_from_slice(&e[..8]);
    (u64::from_le_bytes(b) & ((1 << 52) - 1)) | (1 << 32)
}

/// Milliseconds since the epoch, from the runtime's clock.
pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}
