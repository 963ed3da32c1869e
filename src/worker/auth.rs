//! Who is calling: the admin (bearer `ADMIN_TOKEN`), an anonymous caller (only when
//! `ALLOW_ANONYMOUS = "true"`), or nobody (401).
//!
//! Per-client logins, secrets, tokens and permissions are issue #4; until then the admin
//! token is the only credential, and anonymous access is what `npm run dev` turns on.

use crate::proto::{ApiError, ErrorCode};
use subtle::ConstantTimeEq;
use worker::Env;

/// The access rules of this deployment.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// `ALLOW_ANONYMOUS = "true"`.
    pub anonymous: bool,
    admin_token: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Holder of `ADMIN_TOKEN`.
    Admin,
    /// Nobody in particular (anonymous access is on).
    Anonymous,
}

impl Identity {
    /// The `source` of events the bus makes for this caller.
    pub fn source(&self) -> &'static str {
        match self {
            Identity::Admin => "/admin",
            Identity::Anonymous => "/anonymous",
        }
    }
}

impl Access {
    /// Reads `ALLOW_ANONYMOUS` and the `ADMIN_TOKEN` secret.
    pub fn from_env(env: &Env) -> Access {
        let anonymous = env.var("ALLOW_ANONYMOUS").map(|v| v.to_string() == "true").unwrap_or(false);
        let admin_token = env
            .secret("ADMIN_TOKEN")
            .map(|v| v.to_string())
            .or_else(|_| env.var("ADMIN_TOKEN").map(|v| v.to_string()))
            .ok()
            .filter(|t| !t.is_empty());
        Access { anonymous, admin_token }
    }

    /// Whether `token` is the admin token (constant-time).
    pub fn is_admin_token(&self, token: &str) -> bool {
        match &self.admin_token {
            Some(admin) => bool::from(admin.as_bytes().ct_eq(token.as_bytes())),
            None => false,
        }
    }

    /// Identifies the caller of an HTTP request from its `Authorization` header.
    pub fn identify(&self, authorization: Option<&str>) -> Result<Identity, ApiError> {
        match authorization.map(str::trim) {
            Some(h) => match h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")) {
                Some(token) if self.is_admin_token(token.trim()) => Ok(Identity::Admin),
                _ => Err(unauthorized()),
            },
            None if self.anonymous => Ok(Identity::Anonymous),
            None => Err(unauthorized()),
        }
    }

    /// Identifies the sender of a `hello` frame.
    pub fn identify_hello(&self, token: Option<&str>) -> Result<Identity, ApiError> {
        match token {
            Some(t) if self.is_admin_token(t) => Ok(Identity::Admin),
            _ if self.anonymous => Ok(Identity::Anonymous),
            _ => Err(unauthorized()),
        }
    }

    /// Requires the admin.
    pub fn require_admin(&self, who: &Identity) -> Result<(), ApiError> {
        if *who == Identity::Admin {
            Ok(())
        } else if self.admin_token.is_none() {
            Err(ApiError::new(ErrorCode::Unauthorized, "admin endpoints need ADMIN_TOKEN to be configured"))
        } else {
            Err(ApiError::new(ErrorCode::Unauthorized, "this endpoint needs the admin token"))
        }
    }
}

fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "missing or wrong credentials")
}
