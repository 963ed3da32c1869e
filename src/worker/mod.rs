//! The Cloudflare driver (feature `worker`), split by where it runs:
//!
//! - [`front`]: the stateless front Worker: routing (every name checked once), who the
//!   caller is and what they may do, client and token administration, topic listing and
//!   metrics, the NSQ and Connect/gRPC-Web relays, forwarding to topic objects.
//! - [`topic`]: the topic Durable Object (class `Topic`, one per topic): the broker over
//!   SQLite, sockets, the alarm.
//! - [`registry`]: the `Client` objects (one per login) and the `Registry` lists.
//!
//! Shared here: [`http`] helpers, structured [`log`] lines, bench [`counters`].

mod counters;
mod front;
mod http;
mod log;
mod registry;
mod topic;

use crate::proto::Limits;
use worker::Env;

/// Version reported by `/v1/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The limits of this deployment: the defaults, lowered by `[vars]` (read once per
/// isolate: vars are fixed for its life).
pub fn limits_from_env(env: &Env) -> Limits {
    thread_local! {
        static LIMITS: std::cell::OnceCell<Limits> = const { std::cell::OnceCell::new() };
    }
    LIMITS.with(|l| {
        l.get_or_init(|| {
            Limits::default().with_overrides(
                Limits::VARS.iter().filter_map(|k| env.var(k).ok().map(|v| (*k, v.to_string()))),
            )
        })
        .clone()
    })
}
