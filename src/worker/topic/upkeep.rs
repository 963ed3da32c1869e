//! The object's upkeep: its one alarm (set to the broker's next deadline, always
//! re-armed), the runtime's answers to pings (a consumer's sign of life without a
//! wake-up), and its entry in the topic registry (added once, removed when deleted).

use super::Topic;
use crate::core::SocketId;
use crate::worker::http::now_ms;
use crate::worker::log;
use worker::ScheduledTime;

/// How much earlier than the next deadline a set alarm may stay.
const ALARM_SLACK_MS: u64 = 1_000;

impl Topic {
    /// Sets the alarm to the broker's earliest deadline, or deletes it.
    /// Handles what is due: deadlines, deferred messages, heartbeats (with the pings the
    /// runtime answered meanwhile), hello deadlines, lazy rows, pruning.
    pub(super) async fn tick(&self, now: u64) {
        let pongs = self.auto_pongs(now);
        let result = self.run(now, |b, s| {
            for (id, at) in pongs {
                b.seen(id, at);
            }
            b.handle_timeout(now, s)
        });
        match result {
            Ok(((), out)) => self.apply(out).await,
            Err(f) => {
                let _ = self.failed("alarm.failed", f);
                // Deadlines must not stall: try again soon.
                self.set_alarm(now + 1_000).await;
            }
        }
    }

    /// Whether something is due by `now` (see [`Topic::tick`]).
    pub(super) fn due(&self, now: u64) -> bool {
        let next =
            self.loaded.try_borrow().ok().and_then(|l| l.as_ref().and_then(|l| l.broker.poll_timeout()));
        next.is_some_and(|t| t <= now)
    }

    pub(super) async fn sync_alarm(&self) {
        let next = match self.loaded.try_borrow() {
            Ok(slot) => match slot.as_ref() {
                Some(l) => l.broker.poll_timeout(),
                None => return,
            },
            Err(_) => return,
        };
        // Queued pushes are sent by the alarm, at once.
        let waiting = !self.pushing.get() && !self.push_queue.borrow().is_empty();
        let next = if waiting { Some(next.map_or(now_ms(), |t| t.min(now_ms()))) } else { next };
        let set = self.alarm_at.get();
        // An alarm set a little earlier stays: it wakes the object, which finds nothing
        // due yet and sets the next one. Deadlines that move forward with every frame (the
        // oldest lease's, under a steady stream) would otherwise cost a `setAlarm` per frame.
        if next == set || set.zip(next).is_some_and(|(s, t)| s <= t && t - s < ALARM_SLACK_MS) {
            return;
        }
        match next {
            Some(t) => self.set_alarm(t).await,
            None => match self.state.storage().delete_alarm().await {
                Ok(()) => self.alarm_at.set(None),
                Err(e) => log::error("alarm.set_failed", serde_json::json!({ "error": e.to_string() })),
            },
        }
    }

    /// Sets the alarm.
    pub(super) async fn set_alarm(&self, at: u64) {
        let when = ScheduledTime::new(js_sys::Date::new(&(at as f64).into()));
        match self.state.storage().set_alarm(when).await {
            Ok(()) => self.alarm_at.set(Some(at)),
            Err(e) => log::error("alarm.set_failed", serde_json::json!({ "error": e.to_string() })),
        }
    }

    /// For consumers whose heartbeat is due: when the runtime last answered their ping.
    pub(super) fn auto_pongs(&self, now: u64) -> Vec<(SocketId, u64)> {
        let (Some(rt), Ok(slot)) = (self.runtime.as_ref(), self.loaded.try_borrow()) else {
            return Vec::new();
        };
        let Some(l) = slot.as_ref() else { return Vec::new() };
        l.broker
            .due_heartbeats(now)
            .into_iter()
            .filter_map(|id| Some((id, rt.last_auto_pong(l.sockets.get(&id)?)?)))
            .collect()
    }

    /// Adds the topic to the registry when it is first stored, and removes it once
    /// deleted: one registry call per topic's life, never one per publish.
    pub(super) async fn sync_registry(&self) {
        let topic = match self.loaded.try_borrow() {
            Ok(slot) => match slot.as_ref() {
                // Partition 0 stands for the topic; the other partitions never register.
                Some(l) if l.broker.partition().index > 0 => return,
                Some(l) => l.broker.topic().map(str::to_owned),
                None => return,
            },
            Err(_) => return,
        };
        let registered = self.registered.borrow().clone().flatten();
        let (name, add) = match (&topic, &registered) {
            (Some(t), r) if r.as_ref() != Some(t) => (t.clone(), true),
            (None, Some(r)) => (r.clone(), false),
            _ => return,
        };
        match crate::worker::front::topics::register(&self.env, &name, add).await {
            Ok(()) => {
                let event = if add { "topic.registered" } else { "topic.unregistered" };
                log::info(event, serde_json::json!({ "topic": name }));
                *self.registered.borrow_mut() = Some(add.then_some(name.clone()));
                if add {
                    let sql = self.state.storage().sql();
                    let _ = sql.exec(
                        "INSERT INTO meta (key, value) VALUES ('registered', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        vec![name.as_str().into()],
                    );
                }
            }
            Err(e) => {
                log::error("registry.failed", serde_json::json!({ "topic": name, "error": e.to_string() }))
            }
        }
    }
}
