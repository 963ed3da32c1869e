//! The HTTP routes of the contract, parsed once from method and path, with names checked.
//!
//! Path segments are percent-decoded before the name grammar is applied, so a channel
//! `c#ephemeral` is written `c%23ephemeral` in a URL and `[DEV]x` may be `%5BDEV%5Dx`.

use super::error::{ApiError, ErrorCode};
use super::names::{ChannelName, TopicName};
use percent_encoding::percent_decode_str;

/// A channel-scoped operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOp {
    /// `PUT .../channels/{c}`
    Create,
    /// `DELETE .../channels/{c}`
    Delete,
    /// `POST .../pause`
    Pause,
    /// `POST .../unpause`
    Unpause,
    /// `POST .../seek`
    Seek,
    /// `GET .../dead`
    Dead,
    /// `POST .../dead/redrive`
    Redrive,
    /// `GET .../ws` (consumer socket)
    Socket,
    /// `POST .../pull`
    Pull,
    /// `POST .../settle`
    Settle,
    /// `GET .../peek` (the next messages, not delivered)
    Peek,
}

/// A topic-scoped operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicOp {
    /// `POST /v1/topics/{t}/events`
    Publish,
    /// `POST /v1/topics/{t}/requests`
    Request,
    /// `GET /v1/topics/{t}`
    Stats,
    /// `DELETE /v1/topics/{t}`
    Delete,
    /// `GET /v1/topics/{t}/ws` (publisher socket)
    Socket,
    /// `PUT /v1/topics/{t}` (a partitioned topic)
    Create,
    /// `GET /v1/topics/{t}/partitions`: the partition count only (cheap: no stats)
    Partitions,
}

/// A parsed route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/health`
    Health,
    /// `GET /v1/topics`
    ListTopics,
    /// A topic operation.
    Topic(TopicName, TopicOp),
    /// A channel operation.
    Channel(TopicName, ChannelName, ChannelOp),
    /// `POST /v1/clients`
    CreateClient,
    /// `GET /v1/clients`
    ListClients,
    /// `POST /v1/clients/{login}/secret`
    RotateClient(TopicName),
    /// `DELETE /v1/clients/{login}`
    DeleteClient(TopicName),
    /// `POST /v1/tokens`
    CreateToken,
    /// NSQ: `GET /ping`
    NsqPing,
    /// NSQ: `POST /pub`
    NsqPub,
    /// `/pub` or `/mpub` with a method other than `POST` (nsqd answers `405`).
    NsqWrongMethod,
    /// NSQ: `POST /mpub`
    NsqMpub,
    /// `GET /metrics`
    Metrics,
    /// gRPC-Web / Connect: `POST /ismld.v1.BusService/{method}`
    Rpc(super::grpc::Method),
}

/// Every route [`Route::parse`] accepts, as (method, path), where `{topic}`, `{channel}`
/// and `{login}` stand for a name. The wire reference, `docs/PROTOCOL.md`, is tested
/// against this list.
pub const ROUTES: [(&str, &str); 33] = [
    ("GET", "/v1/health"),
    ("POST", "/v1/clients"),
    ("GET", "/v1/clients"),
    ("POST", "/v1/clients/{login}/secret"),
    ("DELETE", "/v1/clients/{login}"),
    ("POST", "/v1/tokens"),
    ("GET", "/v1/topics"),
    ("PUT", "/v1/topics/{topic}"),
    ("GET", "/v1/topics/{topic}"),
    ("DELETE", "/v1/topics/{topic}"),
    ("POST", "/v1/topics/{topic}/events"),
    ("POST", "/v1/topics/{topic}/requests"),
    ("GET", "/v1/topics/{topic}/ws"),
    ("GET", "/v1/topics/{topic}/partitions"),
    ("PUT", "/v1/topics/{topic}/channels/{channel}"),
    ("DELETE", "/v1/topics/{topic}/channels/{channel}"),
    ("POST", "/v1/topics/{topic}/channels/{channel}/pause"),
    ("POST", "/v1/topics/{topic}/channels/{channel}/unpause"),
    ("POST", "/v1/topics/{topic}/channels/{channel}/seek"),
    ("GET", "/v1/topics/{topic}/channels/{channel}/dead"),
    ("POST", "/v1/topics/{topic}/channels/{channel}/dead/redrive"),
    ("POST", "/v1/topics/{topic}/channels/{channel}/pull"),
    ("POST", "/v1/topics/{topic}/channels/{channel}/settle"),
    ("GET", "/v1/topics/{topic}/channels/{channel}/ws"),
    ("GET", "/v1/topics/{topic}/channels/{channel}/peek"),
    ("GET", "/metrics"),
    ("POST", "/pub"),
    ("POST", "/mpub"),
    ("GET", "/pub"),
    ("GET", "/ping"),
    ("HEAD", "/ping"),
    ("POST", "/ismld.v1.BusService/Publish"),
    ("POST", "/ismld.v1.BusService/PublishBatch"),
];

fn segment(s: &str) -> Result<String, ApiError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ApiError::new(ErrorCode::InvalidName, "a path segment is not UTF-8"))
}

impl Route {
    /// Parses `method` and `path` (without query). Unknown paths are `not_found`; bad
    /// names are `invalid_name`.
    pub fn parse(method: &str, path: &str) -> Result<Route, ApiError> {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let not_found = || ApiError::new(ErrorCode::NotFound, format!("no route {method} {path}"));
        let topic = |s: &str| TopicName::parse(&segment(s)?);
        let channel = |s: &str| ChannelName::parse(&segment(s)?);
        // Logins follow the topic name grammar (no ':' so they fit Basic credentials).
        let login = |s: &str| TopicName::parse(&segment(s)?);
        let route = match (method, parts.as_slice()) {
            ("GET", ["v1", "health"]) => Route::Health,
            ("GET" | "HEAD", ["ping"]) => Route::NsqPing,
            ("POST", ["pub"]) => Route::NsqPub,
            ("POST", ["mpub"]) => Route::NsqMpub,
            (_, ["pub" | "mpub"]) => Route::NsqWrongMethod,
            ("GET", ["metrics"]) => Route::Metrics,
            ("POST", [service, m]) if *service == super::grpc::SERVICE => {
                Route::Rpc(super::grpc::Method::parse(m).ok_or_else(not_found)?)
            }
            ("GET", ["v1", "topics"]) => Route::ListTopics,
            ("POST", ["v1", "clients"]) => Route::CreateClient,
            ("GET", ["v1", "clients"]) => Route::ListClients,
            ("POST", ["v1", "clients", l, "secret"]) => Route::RotateClient(login(l)?),
            ("DELETE", ["v1", "clients", l]) => Route::DeleteClient(login(l)?),
            ("POST", ["v1", "tokens"]) => Route::CreateToken,
            (m, ["v1", "topics", t]) => {
                let op = match m {
                    "GET" => TopicOp::Stats,
                    "DELETE" => TopicOp::Delete,
                    "PUT" => TopicOp::Create,
                    _ => return Err(not_found()),
                };
                Route::Topic(topic(t)?, op)
            }
            ("POST", ["v1", "topics", t, "events"]) => Route::Topic(topic(t)?, TopicOp::Publish),
            ("POST", ["v1", "topics", t, "requests"]) => Route::Topic(topic(t)?, TopicOp::Request),
            ("GET", ["v1", "topics", t, "ws"]) => Route::Topic(topic(t)?, TopicOp::Socket),
            ("GET", ["v1", "topics", t, "partitions"]) => Route::Topic(topic(t)?, TopicOp::Partitions),
            (m, ["v1", "topics", t, "channels", c, rest @ ..]) => {
                let op = match (m, rest) {
                    ("PUT", []) => ChannelOp::Create,
                    ("DELETE", []) => ChannelOp::Delete,
                    ("POST", ["pause"]) => ChannelOp::Pause,
                    ("POST", ["unpause"]) => ChannelOp::Unpause,
                    ("POST", ["seek"]) => ChannelOp::Seek,
                    ("GET", ["dead"]) => ChannelOp::Dead,
                    ("POST", ["dead", "redrive"]) => ChannelOp::Redrive,
                    ("GET", ["ws"]) => ChannelOp::Socket,
                    ("POST", ["pull"]) => ChannelOp::Pull,
                    ("POST", ["settle"]) => ChannelOp::Settle,
                    ("GET", ["peek"]) => ChannelOp::Peek,
                    _ => return Err(not_found()),
                };
                Route::Channel(topic(t)?, channel(c)?, op)
            }
            _ => return Err(not_found()),
        };
        Ok(route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_routes_and_checks_names() {
        assert_eq!(Route::parse("GET", "/v1/health").unwrap(), Route::Health);
        let r = Route::parse("GET", "/v1/topics/%5BDEV%5Dt/channels/c%23ephemeral/ws").unwrap();
        match r {
            Route::Channel(t, c, ChannelOp::Socket) => {
                assert_eq!(t.as_str(), "[DEV]t");
                assert!(c.is_ephemeral());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Route::parse("POST", "/v1/topics/a@b/events").unwrap_err().code, ErrorCode::InvalidName);
        assert_eq!(Route::parse("POST", "/v1/topics/a%2Fb/events").unwrap_err().code, ErrorCode::InvalidName);
        assert_eq!(Route::parse("POST", "/v1/topics/a%00/events").unwrap_err().code, ErrorCode::InvalidName);
        assert_eq!(Route::parse("PATCH", "/v1/topics/a").unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(Route::parse("GET", "/nope").unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn parses_operations_nsq_and_rpc_routes() {
        assert_eq!(Route::parse("GET", "/ping").unwrap(), Route::NsqPing);
        assert_eq!(Route::parse("POST", "/pub").unwrap(), Route::NsqPub);
        assert_eq!(Route::parse("POST", "/mpub").unwrap(), Route::NsqMpub);
        assert_eq!(Route::parse("GET", "/metrics").unwrap(), Route::Metrics);
        assert_eq!(Route::parse("GET", "/pub").unwrap(), Route::NsqWrongMethod);
        use crate::proto::grpc::Method;
        assert_eq!(
            Route::parse("POST", "/ismld.v1.BusService/Publish").unwrap(),
            Route::Rpc(Method::Publish)
        );
        assert_eq!(
            Route::parse("POST", "/ismld.v1.BusService/PublishBatch").unwrap(),
            Route::Rpc(Method::PublishBatch)
        );
        assert_eq!(Route::parse("POST", "/ismld.v1.BusService/Nope").unwrap_err().code, ErrorCode::NotFound);
    }

    /// Which route (and operation) a parsed route is.
    fn key(r: &Route) -> String {
        use crate::proto::grpc::Method;
        // A new variant fails to compile here: give it an arm, a row in ROUTES, and a row
        // in docs/PROTOCOL.md (whose test reads ROUTES); then update the count below.
        let name = match r {
            Route::Health => "health",
            Route::ListTopics => "list-topics",
            Route::Topic(_, op) => match op {
                TopicOp::Publish => "topic-publish",
                TopicOp::Request => "topic-request",
                TopicOp::Stats => "topic-stats",
                TopicOp::Delete => "topic-delete",
                TopicOp::Socket => "topic-socket",
                TopicOp::Create => "topic-create",
                TopicOp::Partitions => "topic-partitions",
            },
            Route::Channel(_, _, op) => match op {
                ChannelOp::Create => "channel-create",
                ChannelOp::Delete => "channel-delete",
                ChannelOp::Pause => "channel-pause",
                ChannelOp::Unpause => "channel-unpause",
                ChannelOp::Seek => "channel-seek",
                ChannelOp::Dead => "channel-dead",
                ChannelOp::Redrive => "channel-redrive",
                ChannelOp::Socket => "channel-socket",
                ChannelOp::Pull => "channel-pull",
                ChannelOp::Settle => "channel-settle",
                ChannelOp::Peek => "channel-peek",
            },
            Route::CreateClient => "create-client",
            Route::ListClients => "list-clients",
            Route::RotateClient(_) => "rotate-client",
            Route::DeleteClient(_) => "delete-client",
            Route::CreateToken => "create-token",
            Route::NsqPing => "nsq-ping",
            Route::NsqPub => "nsq-pub",
            Route::NsqMpub => "nsq-mpub",
            Route::NsqWrongMethod => "nsq-wrong-method",
            Route::Metrics => "metrics",
            Route::Rpc(Method::Publish) => "rpc-publish",
            Route::Rpc(Method::PublishBatch) => "rpc-publish-batch",
        };
        name.to_owned()
    }

    /// How many arms `key` has.
    const KEYS: usize = 32;

    #[test]
    fn routes_list_every_route_the_parser_takes() {
        let mut keys = std::collections::BTreeSet::new();
        for (method, path) in ROUTES {
            let concrete = path.replace("{topic}", "t").replace("{channel}", "c").replace("{login}", "l");
            let r = Route::parse(method, &concrete).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            keys.insert(key(&r));
        }
        assert_eq!(keys.len(), KEYS, "every kind of route is listed: {keys:?}");
        let unique: std::collections::BTreeSet<_> = ROUTES.iter().collect();
        assert_eq!(unique.len(), ROUTES.len());
    }
}
