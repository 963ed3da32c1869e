//! Client credentials: one `Client` Durable Object per login (the authority for that
//! login's secret hash, permissions and credential generation), and one `Registry` object
//! that lists logins for `GET /v1/clients`.
//!
//! Why per-login objects: verifying a credential never goes through one global object, so
//! there is no hot spot; the front Worker and the topic objects cache lookups per isolate
//! for at most 30 s ([`super::auth`]), which is what bounds revocation to 60 s. The
//! registry is touched only by admin calls.

use crate::proto::event::rfc3339;
use crate::proto::ErrorCode;
use crate::worker::http::{self, json, no_content, now_ms};
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

/// What the bus knows of a client. Never contains the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// Login.
    pub login: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// Topic patterns it may publish to.
    pub publish: Vec<String>,
    /// Topic patterns it may subscribe to.
    pub subscribe: Vec<String>,
    /// Creation time (RFC 3339).
    pub created: String,
    /// Credential generation: changes on rotate, so older tokens stop working.
    pub gen: u64,
}

/// What `GET /v1/clients` shows of a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientSummary {
    /// Login.
    pub login: String,
    /// Publish patterns.
    pub publish: Vec<String>,
    /// Subscribe patterns.
    pub subscribe: Vec<String>,
    /// Creation time.
    pub created: String,
}

impl From<&ClientRecord> for ClientSummary {
    fn from(r: &ClientRecord) -> Self {
        ClientSummary {
            login: r.login.clone(),
            publish: r.publish.clone(),
            subscribe: r.subscribe.clone(),
            created: r.created.clone(),
        }
    }
}

const KEY: &str = "client";

/// One client's credentials (class `Client`).
#[durable_object]
pub struct Client {
    state: State,
}

impl DurableObject for Client {
    fn new(state: State, _env: Env) -> Self {
        Client { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let current: Option<ClientRecord> = storage.get(KEY).await?;
        match (req.method(), req.path().as_str(), current) {
            (Method::Get, "/", Some(c)) => json(200, &c),
            (Method::Post, "/", None) => {
                let mut record: ClientRecord = req.json().await?;
                record.gen = now_ms();
                record.created = rfc3339(record.gen);
                storage.put(KEY, &record).await?;
                json(201, &record)
            }
            (Method::Post, "/", Some(_)) => {
                http::fail(ErrorCode::Conflict, "a client with this login exists")
            }
            (Method::Post, "/secret", Some(mut c)) => {
                #[derive(Deserialize)]
                struct Rotate {
                    secret_hash: String,
                }
                let r: Rotate = req.json().await?;
                c.secret_hash = r.secret_hash;
                c.gen = (c.gen + 1).max(now_ms());
                storage.put(KEY, &c).await?;
                json(200, &c)
            }
            (Method::Delete, "/", Some(_)) => {
                storage.delete_all().await?;
                no_content()
            }
            _ => http::fail(ErrorCode::NotFound, "no such client"),
        }
    }
}

/// Lists kept for admin views (class `Registry`): the object named `clients` lists logins
/// for `GET /v1/clients`, the object named `topics` lists topics for `GET /v1/topics`
/// (each topic object adds itself once, when it is first used, and removes itself when it
/// is deleted). Paths: `GET /{kind}/`, `PUT /{kind}/{name}` (body: the entry), `DELETE
/// /{kind}/{name}`.
#[durable_object]
pub struct Registry {
    state: State,
}

/// SQL per kind of list: (select all, upsert, delete).
fn registry_sql(kind: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        "clients" => Some((
            "SELECT summary AS entry FROM clients ORDER BY login",
            "INSERT OR REPLACE INTO clients (login, summary) VALUES (?, ?)",
            "DELETE FROM clients WHERE login = ?",
        )),
        "topics" => Some((
            "SELECT entry FROM topics ORDER BY name",
            "INSERT OR REPLACE INTO topics (name, entry) VALUES (?, ?)",
            "DELETE FROM topics WHERE name = ?",
        )),
        _ => None,
    }
}

impl DurableObject for Registry {
    fn new(state: State, _env: Env) -> Self {
        state
            .storage()
            .sql()
            .exec(
                "CREATE TABLE IF NOT EXISTS clients (login TEXT PRIMARY KEY, summary TEXT NOT NULL); \
                 CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, entry TEXT NOT NULL); \
                 CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
                None,
            )
            .ok();
        Registry { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        let path = req.path();
        if req.method() == Method::Get && path == "/keys/token" {
            return token_key(&sql);
        }
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let kind = parts.next().unwrap_or("");
        let name = parts.next().unwrap_or("").to_owned();
        let Some((list, upsert, delete)) = registry_sql(kind) else {
            return http::fail(ErrorCode::NotFound, "no such registry list");
        };
        match (req.method(), name.is_empty()) {
            (Method::Get, true) => {
                #[derive(Deserialize)]
                struct Row {
                    entry: String,
                }
                let rows: Vec<Row> = sql.exec(list, None)?.to_array()?;
                let entries: Vec<serde_json::Value> =
                    rows.iter().filter_map(|r| serde_json::from_str(&r.entry).ok()).collect();
                json(200, &serde_json::json!({ kind: entries }))
            }
            (Method::Put, false) => {
                let text = req.text().await?;
                sql.exec(upsert, vec![name.as_str().into(), text.into()])?;
                no_content()
            }
            (Method::Delete, false) => {
                sql.exec(delete, vec![name.as_str().into()])?;
                no_content()
            }
            _ => http::fail(ErrorCode::NotFound, "no such registry route"),
        }
    }
}

/// `GET /keys/token` on the object named `keys`: the token signing key, made once (256
/// random bits) and kept here. (One object, read once per isolate: never on a hot path.)
fn token_key(sql: &worker::SqlStorage) -> Result<Response> {
    #[derive(Deserialize)]
    struct Row {
        value: String,
    }
    let rows: Vec<Row> = sql.exec("SELECT value FROM keys WHERE name = 'token'", None)?.to_array()?;
    let key = match rows.into_iter().next() {
        Some(r) => r.value,
        None => {
            let mut bytes = [0u8; 32];
            getrandom::getrandom(&mut bytes)
                .map_err(|e| worker::Error::RustError(format!("no randomness: {e}")))?;
            let key = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
            sql.exec(
                "INSERT OR IGNORE INTO keys (name, value) VALUES ('token', ?)",
                vec![key.as_str().into()],
            )?;
            let rows: Vec<Row> = sql.exec("SELECT value FROM keys WHERE name = 'token'", None)?.to_array()?;
            rows.into_iter().next().map(|r| r.value).unwrap_or(key)
        }
    };
    json(200, &serde_json::json!({ "key": key }))
}
