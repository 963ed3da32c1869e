//! The Cloudflare adapter (feature `worker`): the front Worker (routing, names,
//! authentication) and the topic Durable Object.
//!
//! The front Worker is stateless: it parses the route (which checks every name), decides
//! who the caller is, and forwards topic requests to the topic's object, addressed by name.
//! Sockets are authenticated by their `hello` frame inside the object, since browsers
//! cannot set headers on a WebSocket.

mod auth;
mod cache;
mod http;
mod object;
mod ops;
mod publish;
mod socket;
mod storage;

use crate::proto::route::{ChannelOp, Route, TopicOp};
use crate::proto::{ErrorCode, Limits};
use auth::Access;
use serde_json::json;
use worker::{event, Context, Env, Request, Response, Result};

/// Version reported by `/v1/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The limits of this deployment: the defaults, lowered by `[vars]`.
pub fn limits_from_env(env: &Env) -> Limits {
    Limits::default()
        .with_overrides(Limits::VARS.iter().filter_map(|k| env.var(k).ok().map(|v| (*k, v.to_string()))))
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let route = match Route::parse(req.method().as_ref(), &req.path()) {
        Ok(r) => r,
        Err(e) => return http::error(&e),
    };
    let access = Access::from_env(&env);
    let (topic, socket, admin_only) = match &route {
        Route::Health => return http::json(200, &json!({"ok": true, "version": VERSION})),
        Route::ListTopics => {
            let who = match access.identify(req.headers().get("authorization")?.as_deref()) {
                Ok(w) => w,
                Err(e) => return http::error(&e),
            };
            if let Err(e) = access.require_admin(&who) {
                return http::error(&e);
            }
            return http::fail(ErrorCode::NotFound, "the topic registry is not available in this version");
        }
        Route::Topic(t, op) => (t.clone(), *op == TopicOp::Socket, *op == TopicOp::Delete),
        Route::Channel(t, _, op) => (t.clone(), *op == ChannelOp::Socket, false),
    };
    let mut forwarded = req.clone_mut()?;
    let headers = forwarded.headers_mut()?;
    headers.delete(ops::SOURCE_HEADER)?;
    if !socket {
        let who = match access.identify(req.headers().get("authorization")?.as_deref()) {
            Ok(w) => w,
            Err(e) => return http::error(&e),
        };
        if admin_only {
            if let Err(e) = access.require_admin(&who) {
                return http::error(&e);
            }
        }
        headers.set(ops::SOURCE_HEADER, who.source())?;
    }
    let stub = env.durable_object("TOPIC")?.get_by_name(topic.as_str())?;
    stub.fetch_with_request(forwarded).await
}
