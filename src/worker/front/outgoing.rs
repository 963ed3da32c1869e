//! A caller's request as the front Worker repeats it to each partition of a partitioned
//! topic: method, path, query and headers, with the partition header and a body of its
//! own (`partitions.rs` decides what goes where).

use crate::worker::http;
use crate::worker::topic::PARTITION_HEADER;
use worker::{Headers, Method, Request, RequestInit, Result};

/// What every request to a partition repeats of the caller's request.
pub struct Outgoing {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    /// The caller's headers (without `content-length`).
    pub(super) headers: Vec<(String, String)>,
    /// The caller's headers object, copied whole by each request (one runtime call
    /// rather than one per header).
    original: Option<worker::worker_sys::web_sys::Headers>,
}

impl Outgoing {
    /// A bodyless `GET` of `path`.
    pub fn get(path: String) -> Self {
        Outgoing { method: Method::Get, path, query: Vec::new(), headers: Vec::new(), original: None }
    }

    /// A request of the bus's own (`method`, `path`, JSON body if any).
    pub fn json(method: Method, path: String) -> Self {
        let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        Outgoing { method, path, query: Vec::new(), headers, original: None }
    }

    /// What `req` carries (its headers, path and query).
    pub(super) fn of(req: &Request) -> Result<Self> {
        Ok(Outgoing {
            method: req.method(),
            path: req.path(),
            query: http::query(req),
            headers: req.headers().entries().filter(|(k, _)| k != "content-length").collect(),
            original: Some(req.headers().0.clone()),
        })
    }

    /// A query parameter of the caller's request.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The request for partition `p` of `n`, with `body`, the query with `set` replacing
    /// (or, with an empty value, removing) parameters.
    pub fn to(&self, p: u32, n: u32, body: Option<&[u8]>, set: &[(&str, String)]) -> Result<Request> {
        let headers = match &self.original {
            Some(h) => {
                let copy = Headers(worker::worker_sys::web_sys::Headers::new_with_headers(h)?);
                copy.delete("content-length")?;
                copy
            }
            None => self.headers.iter().collect(),
        };
        headers.set(PARTITION_HEADER, &format!("{p}/{n}"))?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            if k != "partition" && !set.iter().any(|(s, _)| s == k) {
                query.append_pair(k, v);
            }
        }
        for (k, v) in set.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
        let query = query.finish();
        let url = format!("https://internal{}{}{query}", self.path, if query.is_empty() { "" } else { "?" });
        let mut init = RequestInit::new();
        init.with_method(self.method.clone()).with_headers(headers);
        if let Some(b) = body {
            init.with_body(Some(js_sys::Uint8Array::from(b).into()));
        }
        Request::new_with_init(&url, &init)
    }
}
