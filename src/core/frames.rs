//! Socket frames: decode, check the sequence (`hello` first), and apply — credit, the
//! settling verbs (one id or many), `respond`, `pub` (one event or a batch), `ping`.
//! Every answer is queued as an acknowledgement: the driver sends it once the call's
//! writes are durable.

use super::broker::Broker;
use super::sockets::Caller;
use super::store::{CheckpointWrite, Store, StoreResult};
use super::{ConsumerId, Millis, Seq, SocketId};
use crate::proto::frame::{ok_frame, ClientFrame, Hello, OkFrame, ServerFrame, Settle, SettleIds};
use crate::proto::id::parse_message_id;
use crate::proto::{close, ApiError, ErrorCode};
use serde_json::Value;

/// What the driver must do after [`Broker::frame`].
#[derive(Debug, Clone, PartialEq)]
pub enum FrameOutcome {
    /// Nothing more.
    Done,
    /// The socket said `hello` with credentials: the driver checks them and calls
    /// [`Broker::hello`] with the result.
    Authenticate(Hello),
    /// No such socket: the driver closes it (4000).
    Unknown,
}

impl Broker {
    /// One text frame from a socket. `entropy` is fresh random bytes, for the ids of
    /// events a `pub` with plain `data` makes.
    pub fn frame(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: SocketId,
        text: &str,
        entropy: [u8; 16],
    ) -> StoreResult<FrameOutcome> {
        let outcome = self.on_frame(now, store, id, text, entropy)?;
        self.finish(now, store)?;
        Ok(outcome)
    }

    fn on_frame(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: SocketId,
        text: &str,
        entropy: [u8; 16],
    ) -> StoreResult<FrameOutcome> {
        let Some(s) = self.sockets.get(&id) else { return Ok(FrameOutcome::Unknown) };
        let welcomed = s.record.welcomed;
        if text.len() > self.limits.max_frame_bytes {
            self.close(id, close::TOO_LARGE, "frame too large");
            self.forget_socket(now, store, id)?;
            return Ok(FrameOutcome::Done);
        }
        let frame = match ClientFrame::decode(text) {
            Ok(f) => f,
            Err(fe) => {
                self.send(id, ServerFrame::error(fe.reference.as_ref(), &fe.error), true);
                return Ok(FrameOutcome::Done);
            }
        };
        if !welcomed {
            return match frame {
                ClientFrame::Hello(h) if !h.has_credentials() && s.record.preauthorized => {
                    let caller = Caller {
                        source: s.record.source.clone(),
                        login: s.record.source.strip_prefix("/clients/").map(str::to_owned),
                        may_publish: s.record.may_publish,
                        may_subscribe: true,
                    };
                    let topic = self.topic.clone().unwrap_or_default();
                    self.welcome(now, store, id, &topic, &h, Ok(caller))?;
                    Ok(FrameOutcome::Done)
                }
                ClientFrame::Hello(h) => Ok(FrameOutcome::Authenticate(h)),
                _ => {
                    self.close(id, close::UNAUTHORIZED, "hello must be the first frame");
                    self.forget_socket(now, store, id)?;
                    Ok(FrameOutcome::Done)
                }
            };
        }
        self.seen(id, now);
        let consumer = self.sockets.get(&id).and_then(|s| s.channel);
        match frame {
            ClientFrame::Hello(_) => {
                self.close(id, close::SEQUENCE, "hello was already accepted");
                self.forget_socket(now, store, id)?;
            }
            ClientFrame::Ping => self.send(id, ServerFrame::Pong.encode(), true),
            ClientFrame::Rdy { count, reference } => {
                self.rdy(now, store, id, consumer, count, reference.as_ref())?
            }
            ClientFrame::Settle { verb, ids, state, delay_ms, reference } => {
                let Some(ch) = consumer else {
                    self.reply_error(id, reference.as_ref(), ApiError::invalid("this is a publisher socket"));
                    return Ok(FrameOutcome::Done);
                };
                let checkpoint = checkpoint_write(state.as_ref().map(|s| s.get()));
                let delay = delay_ms.unwrap_or(0);
                match ids {
                    SettleIds::One(mid) => {
                        match self.settle_one(
                            now,
                            store,
                            ch,
                            ConsumerId(id),
                            verb,
                            &mid,
                            &checkpoint,
                            delay,
                        )? {
                            Ok(deadline) => {
                                let ok =
                                    OkFrame { reference: reference.as_ref(), deadline, ..Default::default() };
                                self.send(id, ok.encode(), true)
                            }
                            Err(e) => self.reply_error(id, reference.as_ref(), e),
                        }
                    }
                    SettleIds::Many(list) => {
                        let mut missing = Vec::new();
                        let mut settled = 0u64;
                        for one in &list {
                            match self.settle_one(
                                now,
                                store,
                                ch,
                                ConsumerId(id),
                                verb,
                                one,
                                &CheckpointWrite::Keep,
                                delay,
                            )? {
                                Ok(_) => settled += 1,
                                Err(e) if e.code == ErrorCode::NotFound => missing.push(one.as_str()),
                                Err(e) => {
                                    // A limit every id shares (the delay): nothing was settled.
                                    self.reply_error(id, reference.as_ref(), e);
                                    return Ok(FrameOutcome::Done);
                                }
                            }
                        }
                        let ok = OkFrame {
                            reference: reference.as_ref(),
                            settled: Some(settled),
                            missing: Some(&missing),
                            ..Default::default()
                        };
                        self.send(id, ok.encode(), true);
                    }
                }
                self.refresh_heartbeat(id);
                self.pump(now, store, ch)?;
            }
            ClientFrame::Respond { id: mid, data, datacontenttype, reference } => {
                let source = self.sockets.get(&id).map(|s| s.record.source.clone()).unwrap_or_default();
                let result = match consumer {
                    Some(ch) => self.respond(
                        now,
                        store,
                        ch,
                        ConsumerId(id),
                        &mid,
                        &source,
                        &data,
                        datacontenttype.as_deref(),
                    )?,
                    None => Err(ApiError::invalid("this is a publisher socket")),
                };
                match result {
                    Ok(()) => self.send(id, ok_frame(reference.as_ref()), true),
                    Err(e) => self.reply_error(id, reference.as_ref(), e),
                }
                if let Some(ch) = consumer {
                    self.pump(now, store, ch)?;
                }
            }
            ClientFrame::Pub(p) => {
                let (source, may) = self
                    .sockets
                    .get(&id)
                    .map(|s| (s.record.source.clone(), s.record.may_publish))
                    .unwrap_or_default();
                let reference = p.reference.clone();
                let answer = if !may {
                    let topic = self.topic.clone().unwrap_or_default();
                    Err(ApiError::new(
                        ErrorCode::Forbidden,
                        format!("no permission to publish to topic {topic}"),
                    ))
                } else {
                    self.publish_frame(now, store, &source, p, entropy)?
                };
                match answer {
                    Ok(text) => self.send(id, text, true),
                    Err(e) => self.reply_error(id, reference.as_ref(), e),
                }
            }
        }
        Ok(FrameOutcome::Done)
    }

    fn reply_error(&mut self, id: SocketId, reference: Option<&Value>, e: ApiError) {
        self.send(id, ServerFrame::error(reference, &e), true);
    }

    fn rdy(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: SocketId,
        consumer: Option<u32>,
        count: u64,
        reference: Option<&Value>,
    ) -> StoreResult<()> {
        let max = self.limits.max_in_flight;
        let Some(ch) = consumer.filter(|_| count <= u64::from(max)) else {
            let e = ApiError::invalid(format!("rdy needs a consumer socket and a count 0..={max}"));
            self.reply_error(id, reference, e);
            return Ok(());
        };
        if let Some(s) = self.sockets.get_mut(&id) {
            s.record.rdy = count as u32;
            let record = s.record.clone();
            self.out.push(super::Output::Attach { socket: id, record });
        }
        if reference.is_some() {
            self.send(id, ok_frame(reference), true);
        }
        self.pump(now, store, ch)
    }

    /// One settling verb on one message id held by `owner`. A refused one changes
    /// nothing. Returns the new deadline of a touch.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn settle_one(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        owner: ConsumerId,
        verb: Settle,
        mid: &str,
        checkpoint: &CheckpointWrite,
        delay: Millis,
    ) -> StoreResult<Result<Option<Millis>, ApiError>> {
        // A delivery whose deadline has passed has failed, even if the timer has not run
        // yet: the redelivery comes as a new delivery.
        let Some(seq) =
            self.held(ch, owner, mid).filter(|s| self.deadline_of(ch, *s).is_some_and(|d| d > now))
        else {
            return Ok(Err(not_in_flight(mid)));
        };
        if let CheckpointWrite::Set(cp) = checkpoint {
            if cp.len() > self.limits.max_checkpoint_bytes {
                let limit = self.limits.max_checkpoint_bytes;
                return Ok(Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("checkpoint is {} bytes; the limit is {limit}", cp.len()),
                )));
            }
        }
        if delay > self.limits.max_delay_ms {
            return Ok(Err(ApiError::invalid(format!(
                "delay_ms must be at most {}",
                self.limits.max_delay_ms
            ))));
        }
        let deadline = match verb {
            Settle::Fin => {
                self.finish_message(store, ch, seq)?;
                None
            }
            Settle::Touch => self.touch_message(now, store, ch, seq, checkpoint)?,
            Settle::Req => {
                self.give_back(now, store, ch, seq, true, delay, checkpoint)?;
                None
            }
            Settle::Shelve => {
                self.give_back(now, store, ch, seq, false, delay, checkpoint)?;
                None
            }
        };
        Ok(Ok(deadline))
    }

    fn deadline_of(&self, ch: u32, seq: Seq) -> Option<Millis> {
        self.channels.get(&ch)?.in_flight.get(&seq).map(|f| f.deadline)
    }

    /// The seq of message `mid` if it is in flight on `ch` to `owner`.
    pub(super) fn held(&self, ch: u32, owner: ConsumerId, mid: &str) -> Option<Seq> {
        let (partition, seq) = parse_message_id(mid)?;
        if partition != self.partition.index {
            return None;
        }
        let f = self.channels.get(&ch)?.in_flight.get(&seq)?;
        (f.owner == owner).then_some(seq)
    }
}

/// The checkpoint write a settle frame's `state` asks for: absent keeps it, JSON `null`
/// clears it, anything else (JSON text) sets it.
pub(super) fn checkpoint_write(state: Option<&str>) -> CheckpointWrite {
    match state {
        None => CheckpointWrite::Keep,
        Some("null") => CheckpointWrite::Clear,
        Some(text) => CheckpointWrite::Set(text.to_owned()),
    }
}

pub(super) fn not_in_flight(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("message {id} is not in flight to this consumer"))
}
