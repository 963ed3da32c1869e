//! The answer to a request (`docs/PROTOCOL.md`, "Request-response"), made by the Worker
//! and by the `memory://` bus from a `respond` frame.

use super::event::rfc3339;
use serde_json::value::RawValue;

/// Makes the answer to a request (`docs/PROTOCOL.md`, "Request-response"): a
/// structured CloudEvent with `type` = the request's type + `.response`, `source` = the
/// responder's, `data` = the responder's data (JSON), and `ismldrequestid` naming the
/// request event's `id` so an answer can be matched without the HTTP exchange.
pub fn response(
    request: &str,
    id: &str,
    source: &str,
    data: &RawValue,
    content_type: Option<&str>,
    now: u64,
) -> String {
    #[derive(serde::Deserialize)]
    struct Request<'a> {
        #[serde(borrow, rename = "type")]
        kind: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    let r: Request<'_> = serde_json::from_str(request).unwrap_or(Request { kind: None, id: None });
    #[derive(serde::Serialize)]
    struct Response<'a> {
        specversion: &'a str,
        id: &'a str,
        source: &'a str,
        #[serde(rename = "type")]
        kind: String,
        time: String,
        datacontenttype: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        ismldrequestid: Option<&'a str>,
        data: &'a RawValue,
    }
    let answer = Response {
        specversion: "1.0",
        id,
        source,
        kind: format!("{}.response", r.kind.as_deref().unwrap_or("request")),
        time: rfc3339(now),
        datacontenttype: content_type.unwrap_or("application/json"),
        ismldrequestid: r.id.as_deref(),
        data,
    };
    serde_json::to_string(&answer).unwrap_or_default()
}
