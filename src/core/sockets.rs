//! Sockets: opened (pending until an accepted `hello`, at most
//! [`super::MAX_PENDING_SOCKETS`] of them, closed after [`super::HELLO_TIMEOUT_MS`]),
//! welcomed as a publisher or as a consumer of one channel, and closed.
//!
//! Nothing is stored for a socket before its credentials are accepted: a pending socket
//! lives in memory and in its driver-side record only.

use super::broker::Broker;
use super::consumer::{ConsumerSettings, Socket};
use super::output::{LogLevel, Output, SocketRecord};
use super::store::{CheckpointWrite, Store, StoreResult};
use super::timers::Timer;
use super::{ConsumerId, Millis, SocketId, HELLO_TIMEOUT_MS, MAX_PENDING_SOCKETS};
use crate::proto::frame::{Hello, ServerFrame};
use crate::proto::{close, ApiError, ChannelName, ErrorCode};

/// Who a socket's credentials say it is, as the driver resolved them for this topic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Caller {
    /// The `source` of events it publishes (`/clients/{login}`, `/anonymous`, `/admin`).
    pub source: String,
    /// Its login, for a client.
    pub login: Option<String>,
    /// It may publish to this topic.
    pub may_publish: bool,
    /// It may subscribe to this topic.
    pub may_subscribe: bool,
}

impl Caller {
    /// A caller allowed everything on the topic, publishing as `source`.
    pub fn anyone(source: &str) -> Caller {
        Caller { source: source.to_owned(), login: None, may_publish: true, may_subscribe: true }
    }
}

impl Broker {
    /// A socket was opened on `channel` (a consumer socket) or on the topic (a
    /// publisher socket). `caller` is set when the upgrade carried accepted credentials.
    /// Refused with `503` when too many sockets are waiting for their `hello`.
    pub fn open(
        &mut self,
        now: Millis,
        id: SocketId,
        channel: Option<&ChannelName>,
        caller: Option<&Caller>,
        address: Option<&str>,
    ) -> Result<(), ApiError> {
        let pending = self.sockets.values().filter(|s| !s.record.welcomed).count();
        if pending >= MAX_PENDING_SOCKETS {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                format!(
                    "this topic has {MAX_PENDING_SOCKETS} sockets waiting for their hello; try again later"
                ),
            ));
        }
        let record = SocketRecord {
            id,
            channel: channel.map(|c| c.as_str().to_owned()),
            opened_at: now,
            preauthorized: caller.is_some(),
            source: caller.map(|c| c.source.clone()).unwrap_or_default(),
            may_publish: caller.is_some_and(|c| c.may_publish),
            address: address.map(str::to_owned),
            ..Default::default()
        };
        self.out.push(Output::Attach { socket: id, record: record.clone() });
        self.timers.insert((now.saturating_add(HELLO_TIMEOUT_MS), Timer::Hello(id)));
        self.sockets.insert(id, Socket::new(record, now));
        Ok(())
    }

    /// The outcome of authenticating a `hello` (see [`super::FrameOutcome::Authenticate`]).
    pub fn hello(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: SocketId,
        topic: &str,
        hello: &Hello,
        caller: Result<Caller, ApiError>,
    ) -> StoreResult<()> {
        self.welcome(now, store, id, topic, hello, caller)?;
        self.finish(now, store)
    }

    pub(super) fn welcome(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: SocketId,
        topic: &str,
        hello: &Hello,
        caller: Result<Caller, ApiError>,
    ) -> StoreResult<()> {
        let Some(s) = self.sockets.get(&id) else { return Ok(()) };
        if s.record.welcomed {
            return Ok(());
        }
        let channel = s.record.channel.clone();
        let caller = match caller {
            Ok(c) => c,
            Err(e) => {
                self.log(
                    LogLevel::Warn,
                    "auth.refused",
                    serde_json::json!({ "topic": topic, "socket": true, "code": e.code.as_str() }),
                );
                self.send(id, ServerFrame::error(None, &e), true);
                return self.refuse(id, close::UNAUTHORIZED, &e.message);
            }
        };
        let allowed = if channel.is_some() { caller.may_subscribe } else { caller.may_publish };
        if !allowed {
            let what = if channel.is_some() { "subscribe to" } else { "publish to" };
            let e = ApiError::new(ErrorCode::Forbidden, format!("no permission to {what} topic {topic}"));
            self.send(id, ServerFrame::error(None, &e), true);
            return self.refuse(id, close::FORBIDDEN, &e.message);
        }
        let (rdy, settings) = match ConsumerSettings::from_hello(hello, &self.limits) {
            Ok(s) => s,
            Err(e) => {
                self.send(id, ServerFrame::error(None, &e), true);
                return Ok(());
            }
        };
        let name = match channel.as_deref().map(ChannelName::parse).transpose() {
            Ok(n) => n,
            Err(e) => return self.refuse(id, close::SEQUENCE, &e.message),
        };
        self.remember_topic(store, topic)?;
        let ch = match &name {
            Some(n) => match self.ensure_channel(now, store, n)? {
                Ok(ch) => Some(ch),
                Err(e) => {
                    self.send(id, ServerFrame::error(None, &e), true);
                    return Ok(());
                }
            },
            None => None,
        };
        let Some(s) = self.sockets.get_mut(&id) else { return Ok(()) };
        self.timers.remove(&(s.record.opened_at.saturating_add(HELLO_TIMEOUT_MS), Timer::Hello(id)));
        let r = &mut s.record;
        r.welcomed = true;
        r.source = caller.source.clone();
        r.may_publish = caller.may_publish;
        r.rdy = if ch.is_some() { rdy } else { 0 };
        r.handler_timeout_ms = settings.handler_timeout_ms;
        r.max_attempts = settings.max_attempts;
        r.heartbeat_ms = settings.heartbeat_ms;
        r.batch = hello.batch;
        s.channel = ch;
        s.last_seen = now;
        let record = r.clone();
        let session = if ch.is_some() { format!("{id:x}") } else { "publisher".to_owned() };
        let welcome = ServerFrame::Welcome {
            topic,
            channel: channel.as_deref(),
            session: &session,
            max_in_flight: u64::from(record.rdy),
            heartbeat_ms: settings.heartbeat_ms,
            batch: hello.batch.then_some(true),
            partition: self.partition.index,
            partitions: self.partition.count,
        };
        self.send(id, welcome.encode(), true);
        self.out.push(Output::Attach { socket: id, record });
        if let Some(ch) = ch {
            if let Some(c) = self.channels.get_mut(&ch) {
                c.consumers.push(ConsumerId(id));
                if c.ephemeral && !c.row.had_consumer {
                    c.row.had_consumer = true;
                    self.dirty.insert(ch);
                }
            }
            self.log(
                LogLevel::Info,
                "consumer.attached",
                serde_json::json!({ "topic": topic, "channel": channel, "session": session, "login": caller.login, "max_in_flight": rdy }),
            );
            self.pump(now, store, ch)?;
        }
        Ok(())
    }

    /// Closes a socket the broker refuses (it held nothing yet).
    fn refuse(&mut self, id: SocketId, code: u16, reason: &str) -> StoreResult<()> {
        self.close(id, code, reason);
        self.sockets.remove(&id);
        Ok(())
    }

    /// A socket closed (by the client, the network, or the server): a consumer's
    /// messages go back at once, as a failure only if their deadline had passed; an
    /// ephemeral channel goes with its last consumer.
    pub fn closed(&mut self, now: Millis, store: &mut dyn Store, id: SocketId) -> StoreResult<()> {
        self.forget_socket(now, store, id)?;
        self.finish(now, store)
    }

    /// The driver found the socket's credentials revoked: it is closed with 4001.
    pub fn revoke(&mut self, now: Millis, store: &mut dyn Store, id: SocketId) -> StoreResult<()> {
        self.close(id, close::UNAUTHORIZED, "credentials revoked");
        self.closed(now, store, id)
    }

    /// Forgets a socket, giving back what it held.
    pub(super) fn forget_socket(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: SocketId,
    ) -> StoreResult<()> {
        let Some(s) = self.sockets.remove(&id) else { return Ok(()) };
        if let Some(t) = s.heartbeat_at {
            self.timers.remove(&(t, Timer::Heartbeat(id)));
        }
        if let Some(t) = s.recheck_at {
            self.timers.remove(&(t, Timer::Recheck(id)));
        }
        if !s.record.welcomed {
            self.timers.remove(&(s.record.opened_at.saturating_add(HELLO_TIMEOUT_MS), Timer::Hello(id)));
        }
        let Some(ch) = s.channel else { return Ok(()) };
        for &seq in &s.in_flight {
            let failed =
                self.channels.get(&ch).and_then(|c| c.in_flight.get(&seq)).is_some_and(|f| f.deadline <= now);
            self.give_back(now, store, ch, seq, failed, 0, &CheckpointWrite::Keep)?;
        }
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(()) };
        c.consumers.retain(|x| *x != ConsumerId(id));
        c.turn = 0;
        let name = c.row.name.clone();
        self.log(
            LogLevel::Info,
            "consumer.detached",
            serde_json::json!({ "topic": self.topic, "channel": name, "session": format!("{id:x}") }),
        );
        let Some(c) = self.channels.get(&ch) else { return Ok(()) };
        if c.consumers.is_empty() && c.ephemeral {
            self.drop_channel(store, ch, "ephemeral channel has no consumer")?;
        } else {
            self.pump(now, store, ch)?;
        }
        Ok(())
    }

    /// Whether a socket is known.
    pub fn has_socket(&self, id: SocketId) -> bool {
        self.sockets.contains_key(&id)
    }

    /// How many messages are in flight to a socket.
    pub fn in_flight_to(&self, id: SocketId) -> usize {
        self.sockets.get(&id).map_or(0, |s| s.in_flight.len())
    }

    /// A socket's record.
    pub fn socket(&self, id: SocketId) -> Option<&SocketRecord> {
        self.sockets.get(&id).map(|s| &s.record)
    }
}
