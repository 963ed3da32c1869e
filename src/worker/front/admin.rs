//! Admin and credential endpoints served by the front Worker: clients (create, list,
//! rotate, delete) and browser tokens.

use super::auth::{self, Access, Identity};
use crate::proto::auth::{
    encode_secret, hash_secret, valid_pattern, DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S, SECRET_BYTES,
};
use crate::proto::{ApiError, ErrorCode, TopicName};
use crate::worker::http::{self, json, no_content, now_ms};
use crate::worker::registry::clients::{ClientRecord, ClientSummary};
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Method, Request, RequestInit, Response, Result};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewClient {
    login: String,
    publish: Option<Vec<String>>,
    subscribe: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewToken {
    ttl_s: Option<u64>,
}

fn new_secret() -> std::result::Result<String, ApiError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("no randomness: {e}")))?;
    Ok(encode_secret(&bytes))
}

fn patterns(field: &str, p: Option<Vec<String>>) -> std::result::Result<Vec<String>, ApiError> {
    let p = p.unwrap_or_else(|| vec!["*".into()]);
    if p.len() > 100 || !p.iter().all(|x| valid_pattern(x)) {
        return Err(ApiError::invalid(format!(
            "{field} must be a list of at most 100 topic patterns (name characters and *)"
        )));
    }
    Ok(p)
}

/// Calls an object of `binding` by name with an internal request.
pub async fn call(
    env: &Env,
    binding: &str,
    name: &str,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<Response> {
    let stub = env.durable_object(binding)?.get_by_name(name)?;
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    stub.fetch_with_request(Request::new_with_init(&format!("https://internal{path}"), &init)?).await
}

/// Admin bodies are small: at most this many bytes.
const ADMIN_BODY: usize = 64 << 10;

async fn body_json<T: for<'de> Deserialize<'de> + Default>(
    req: &mut Request,
    allow_empty: bool,
) -> Result<std::result::Result<T, ApiError>> {
    let bytes = match http::read_body(req, ADMIN_BODY).await? {
        Ok(b) => b,
        Err(e) => return Ok(Err(e)),
    };
    if allow_empty && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Ok(T::default()));
    }
    Ok(crate::proto::from_json_bytes(&bytes).map_err(|e| ApiError::invalid(format!("bad body: {e}"))))
}

/// `POST /v1/clients`
pub async fn create_client(env: &Env, mut req: Request) -> Result<Response> {
    let body: NewClient = match body_json(&mut req, false).await? {
        Ok(b) => b,
        Err(e) => return http::error(&e),
    };
    let checked = (|| {
        let login = TopicName::parse(&body.login)
            .map_err(|_| ApiError::invalid("login must be 1-128 characters of A-Z a-z 0-9 . _ - [ ]"))?;
        Ok::<_, ApiError>((
            login,
            patterns("publish", body.publish)?,
            patterns("subscribe", body.subscribe)?,
            new_secret()?,
        ))
    })();
    let (login, publish, subscribe, secret) = match checked {
        Ok(v) => v,
        Err(e) => return http::error(&e),
    };
    let record = ClientRecord {
        login: login.as_str().to_owned(),
        secret_hash: hash_secret(&secret),
        publish,
        subscribe,
        created: String::new(),
        gen: 0,
    };
    let text = serde_json::to_string(&record).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut res = call(env, "CLIENTS", login.as_str(), Method::Post, "/", Some(text)).await?;
    if res.status_code() != 201 {
        return Ok(res);
    }
    let stored: ClientRecord = res.json().await?;
    let summary = serde_json::to_string(&ClientSummary::from(&stored)).unwrap_or_default();
    call(env, "REGISTRY", "clients", Method::Put, &format!("/clients/{}", login.as_str()), Some(summary))
        .await?;
    auth::remember(login.as_str(), Some(stored), now_ms());
    crate::worker::log::info("client.created", json!({ "login": login.as_str() }));
    json(201, &json!({ "login": login.as_str(), "secret": secret }))
}

/// `GET /v1/clients`
pub async fn list_clients(env: &Env) -> Result<Response> {
    call(env, "REGISTRY", "clients", Method::Get, "/clients/", None).await
}

/// `POST /v1/clients/{login}/secret`
pub async fn rotate_client(env: &Env, login: &TopicName) -> Result<Response> {
    let secret = match new_secret() {
        Ok(s) => s,
        Err(e) => return http::error(&e),
    };
    let body = json!({ "secret_hash": hash_secret(&secret) }).to_string();
    let mut res = call(env, "CLIENTS", login.as_str(), Method::Post, "/secret", Some(body)).await?;
    if res.status_code() != 200 {
        return Ok(res);
    }
    let stored: ClientRecord = res.json().await?;
    auth::remember(login.as_str(), Some(stored), now_ms());
    crate::worker::log::info("client.rotated", json!({ "login": login.as_str() }));
    json(200, &json!({ "login": login.as_str(), "secret": secret }))
}

/// `DELETE /v1/clients/{login}`
pub async fn delete_client(env: &Env, login: &TopicName) -> Result<Response> {
    let res = call(env, "CLIENTS", login.as_str(), Method::Delete, "/", None).await?;
    if res.status_code() != 204 {
        return Ok(res);
    }
    call(env, "REGISTRY", "clients", Method::Delete, &format!("/clients/{}", login.as_str()), None).await?;
    auth::remember(login.as_str(), None, now_ms());
    crate::worker::log::info("client.deleted", json!({ "login": login.as_str() }));
    no_content()
}

/// `POST /v1/tokens` (a client with Basic credentials).
pub async fn create_token(
    env: &Env,
    access: &Access,
    who: &Identity,
    basic: bool,
    mut req: Request,
) -> Result<Response> {
    let Identity::Client(client) = who else {
        return http::fail(ErrorCode::Unauthorized, "tokens are issued to clients (Basic login:secret)");
    };
    if !basic {
        return http::fail(ErrorCode::Unauthorized, "tokens are issued for Basic login:secret credentials");
    }
    let body: NewToken = match body_json(&mut req, true).await? {
        Ok(b) => b,
        Err(e) => return http::error(&e),
    };
    let ttl = body.ttl_s.unwrap_or(DEFAULT_TOKEN_TTL_S);
    if !(1..=MAX_TOKEN_TTL_S).contains(&ttl) {
        return http::fail(ErrorCode::InvalidRequest, format!("ttl_s must be 1..={MAX_TOKEN_TTL_S}"));
    }
    match access.issue_token(env, client, now_ms(), ttl).await {
        Ok((token, expires_at)) => {
            crate::worker::log::info(
                "token.issued",
                json!({ "login": client.login, "expires_at": expires_at }),
            );
            json(201, &json!({ "token": token, "expires_at": expires_at }))
        }
        Err(e) => http::error(&e),
    }
}
