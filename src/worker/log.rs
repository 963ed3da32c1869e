//! Structured logs: one JSON line per significant event (`wrangler tail` and Workers Logs
//! show them; `wrangler dev` prints them), e.g.
//! `{"level":"info","event":"channel.created","topic":"orders","channel":"audit"}`.
//!
//! Fields are names, counts, codes and logins: never a secret, a token, an
//! `Authorization` header or an event's data.
//!
//! Every level goes to `console.log`: the level is a field of the line, and `wrangler dev`
//! would otherwise wrap warnings and errors in its own coloured `▲ [WARNING]` / `✘ [ERROR]`
//! prefixes, so a line would no longer be JSON.

use serde_json::{Map, Value};

fn line(level: &str, event: &str, fields: Value) -> String {
    let mut out = Map::new();
    out.insert("level".into(), level.into());
    out.insert("event".into(), event.into());
    if let Value::Object(f) = fields {
        out.extend(f);
    }
    Value::Object(out).to_string()
}

/// Logs a significant event at level `info`.
pub fn info(event: &str, fields: Value) {
    worker::console_log!("{}", line("info", event, fields));
}

/// Logs a refused or degraded operation at level `warn`.
pub fn warn(event: &str, fields: Value) {
    worker::console_log!("{}", line("warn", event, fields));
}

/// Logs a failure of the bus itself at level `error`.
pub fn error(event: &str, fields: Value) {
    worker::console_log!("{}", line("error", event, fields));
}

/// Logs a line the broker queued.
pub fn emit(level: crate::core::LogLevel, event: &str, fields: Value) {
    match level {
        crate::core::LogLevel::Info => info(event, fields),
        crate::core::LogLevel::Warn => warn(event, fields),
        crate::core::LogLevel::Error => error(event, fields),
    }
}
