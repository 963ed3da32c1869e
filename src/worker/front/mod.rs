//! The front Worker: every request arrives here. It parses the route (which checks every
//! name), decides who the caller is and whether they may do this, serves the admin,
//! listing and relay endpoints itself, and forwards topic operations to the topic's
//! object, addressed by name, with the caller's event `source` in a header.
//!
//! Must not touch: topic state. Everything a topic does happens in its object.

pub mod admin;
pub mod auth;
pub mod channels;
pub mod forward;
pub mod nsq;
pub mod outgoing;
pub mod partitions;
pub mod pull;
pub mod rpc;
pub mod topics;

use super::http;
use super::topic::{CALLER_HEADER, CLIENT_GEN_HEADER, SOURCE_HEADER};
use super::VERSION;
use crate::proto::route::{ChannelOp, Route, TopicOp};
use crate::proto::{ApiError, ErrorCode};
use auth::{forbidden, Access, Identity};
use serde_json::json;
use worker::{event, Context, Env, Headers, Method, Request, Response, Result};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    if req.method() == Method::Options {
        return preflight(&req);
    }
    match route(req, &env).await {
        Ok(r) => with_cors(r),
        Err(e) => {
            super::log::error("request.failed", json!({ "error": e.to_string() }));
            with_cors(http::fail(ErrorCode::Internal, "internal error")?)
        }
    }
}

/// CORS: browsers on any origin may call the API. Credentials travel in the
/// `Authorization` header (never cookies), so allowing every origin gives a page no power
/// its user's credentials do not already have.
fn preflight(req: &Request) -> Result<Response> {
    let h = Headers::new();
    h.set("access-control-allow-origin", "*")?;
    h.set("access-control-allow-methods", "GET, POST, PUT, DELETE, OPTIONS")?;
    let asked = req.headers().get("access-control-request-headers")?;
    h.set("access-control-allow-headers", asked.as_deref().unwrap_or("authorization, content-type"))?;
    h.set("access-control-max-age", "86400")?;
    Ok(Response::empty()?.with_status(204).with_headers(h))
}

/// Adds `Access-Control-Allow-Origin: *` (into fresh headers: an object's answer has
/// immutable ones).
fn with_cors(r: Response) -> Result<Response> {
    if r.status_code() == 101 {
        return Ok(r);
    }
    let h = Headers::new();
    for (k, v) in r.headers().entries() {
        h.append(&k, &v)?;
    }
    h.set("access-control-allow-origin", "*")?;
    h.set("access-control-expose-headers", "grpc-status, grpc-message, ismld-error-code")?;
    Ok(r.with_headers(h))
}

/// Checks what `who` may do on `route`.
fn permit(access: &Access, who: &Identity, route: &Route) -> std::result::Result<(), ApiError> {
    match route {
        Route::Health
        | Route::CreateToken
        | Route::NsqPing
        | Route::NsqPub
        | Route::NsqMpub
        | Route::NsqWrongMethod
        | Route::Rpc(_) => Ok(()),
        Route::ListTopics
        | Route::Metrics
        | Route::CreateClient
        | Route::ListClients
        | Route::RotateClient(_)
        | Route::DeleteClient(_) => access.require_admin(who),
        Route::Topic(_, TopicOp::Delete) => access.require_admin(who),
        Route::Topic(t, TopicOp::Publish | TopicOp::Request) if !who.may_publish(t.as_str()) => {
            Err(forbidden("publish to", t.as_str()))
        }
        Route::Topic(t, TopicOp::Stats | TopicOp::Partitions)
            if !who.may_publish(t.as_str()) && !who.may_subscribe(t.as_str()) =>
        {
            Err(forbidden("read", t.as_str()))
        }
        Route::Topic(_, TopicOp::Create) => access.require_admin(who),
        Route::Topic(t, TopicOp::Socket) if !who.may_publish(t.as_str()) => {
            Err(forbidden("publish to", t.as_str()))
        }
        Route::Channel(t, _, _) if !who.may_subscribe(t.as_str()) => {
            Err(forbidden("subscribe to", t.as_str()))
        }
        _ => Ok(()),
    }
}

async fn route(mut req: Request, env: &Env) -> Result<Response> {
    if req.path() == "/v1/_bench/counters" && env.var("BENCH_COUNTERS").is_ok_and(|v| v.to_string() == "true")
    {
        return http::json(200, &super::counters::snapshot());
    }
    let route = match Route::parse(req.method().as_ref(), &req.path()) {
        Ok(r) => r,
        Err(e) => {
            http::discard_body(&mut req).await;
            return http::error(&e);
        }
    };
    let access = Access::from_env(env);
    match route {
        Route::Health => return http::json(200, &json!({"ok": true, "version": VERSION})),
        Route::NsqPing => return nsq::ok(),
        Route::NsqWrongMethod => {
            http::discard_body(&mut req).await;
            return nsq::wrong_method();
        }
        Route::Rpc(method) => return rpc::serve(req, env, &access, method).await,
        Route::NsqPub | Route::NsqMpub => {
            return nsq::publish(req, env, &access, route == Route::NsqMpub).await
        }
        _ => {}
    }
    let socket = matches!(route, Route::Topic(_, TopicOp::Socket) | Route::Channel(_, _, ChannelOp::Socket));
    // A socket may carry its credentials on the upgrade (Authorization, or access_token
    // for browsers); without any, its `hello` must bring them.
    let authorization = match req.headers().get("authorization")? {
        Some(a) => Some(a),
        None if socket => http::query(&req)
            .into_iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| format!("Bearer {v}")),
        None => None,
    };
    let who = if socket && authorization.is_none() {
        None
    } else {
        match access.identify(env, authorization.as_deref(), http::now_ms()).await {
            Ok(w) => Some(w),
            Err(e) => {
                super::log::warn("auth.refused", json!({ "path": req.path(), "code": e.code.as_str() }));
                http::discard_body(&mut req).await;
                return http::error(&e);
            }
        }
    };
    if let Some(w) = &who {
        if let Err(e) = permit(&access, w, &route) {
            super::log::warn(
                "auth.forbidden",
                json!({ "path": req.path(), "login": w.login(), "code": e.code.as_str() }),
            );
            http::discard_body(&mut req).await;
            return http::error(&e);
        }
    }
    let topic = match (&route, &who) {
        (Route::CreateClient, _) => return admin::create_client(env, req).await,
        (Route::ListClients, _) => return admin::list_clients(env).await,
        (Route::RotateClient(l), _) => return admin::rotate_client(env, l).await,
        (Route::DeleteClient(l), _) => return admin::delete_client(env, l).await,
        (Route::CreateToken, Some(w)) => {
            let basic =
                authorization.as_deref().is_some_and(|h| h.trim().to_ascii_lowercase().starts_with("basic "));
            return admin::create_token(env, &access, w, basic, req).await;
        }
        (Route::ListTopics, _) => {
            let stats = http::query(&req).iter().any(|(k, v)| k == "stats" && v == "true");
            return topics::list(env, stats).await;
        }
        (Route::Metrics, _) => return topics::metrics(env).await,
        (Route::Topic(t, _) | Route::Channel(t, _, _), _) => t.clone(),
        _ => return http::fail(ErrorCode::NotFound, "no such route"),
    };
    let mut forwarded = req.clone_mut()?;
    let headers = forwarded.headers_mut()?;
    headers.delete(SOURCE_HEADER)?;
    headers.delete(CALLER_HEADER)?;
    headers.delete(CLIENT_GEN_HEADER)?;
    headers.delete(crate::proto::nsq::FRAMING_HEADER)?;
    headers.delete(super::topic::PARTITION_HEADER)?;
    if let Some(w) = &who {
        headers.set(SOURCE_HEADER, &w.source())?;
        if socket {
            let caller = super::topic::caller_of(w, topic.as_str());
            headers.set(CALLER_HEADER, &super::topic::caller_header(&caller))?;
            if let auth::Identity::Client(c) = w {
                headers.set(CLIENT_GEN_HEADER, &c.gen.to_string())?;
            }
        }
    }
    partitions::forward(env, topic.as_str(), &route, forwarded).await
}
