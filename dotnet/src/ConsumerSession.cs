using System;
using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>
    /// One consumer socket's protocol state: a sans-IO state machine (the C# twin of the JS
    /// client's core, src/client/session.rs). Its driver (<see cref="ConsumerSocket"/>)
    /// feeds it what happens (opened, a frame, closed, timers, handler outcomes, settle
    /// calls) with the current time in ms, and performs the <see cref="SessionAction"/>s it
    /// returns. Owns the handshake, credit, the messages in flight on the current socket,
    /// refs, keep-alive pings, handler and reconnect backoff, the capped queue of frames made
    /// while disconnected, and coalescing of settles into <c>ids</c> frames when the server
    /// offers them. No sockets, timers, clock or randomness here; not thread-safe (the driver
    /// holds a lock).
    /// </summary>
    internal sealed partial class ConsumerSession
    {
        /// <summary>Close codes after which reconnecting cannot help.</summary>
        public static readonly int[] FatalCloseCodes = { 4001, 4003, 4004 };

        private sealed class Pending
        {
            /// <summary>The message a fin/req/shelve/respond took out of flight (back in flight if refused for another reason than not_found).</summary>
            public string Returns;
            /// <summary>For an <c>ids</c> frame: the calls it carries.</summary>
            public List<KeyValuePair<long, string>> Calls;
            /// <summary>The settle lane this frame is the outstanding frame of, if any.</summary>
            public string Lane;
        }

        private readonly SessionConfig cfg;
        private readonly HashSet<string> inFlight = new HashSet<string>();
        private readonly Dictionary<long, Pending> pending = new Dictionary<long, Pending>();
        private readonly Queue<string> queue = new Queue<string>();
        private long nextRef = 1;
        private int attempt;
        private int failures;
        private long? backoffUntil;
        private long? pingAt;
        private long heartbeatMs;
        private bool authRetried;

        public ConsumerSession(SessionConfig cfg)
        {
            this.cfg = cfg;
            heartbeatMs = cfg.HeartbeatMs;
        }

        /// <summary>Where the session stands.</summary>
        public SessionPhase Phase { get; private set; } = SessionPhase.Disconnected;

        /// <summary>Whether the server said it takes <c>ids</c> frames (<c>"batch": true</c> in welcome).</summary>
        public bool ServerBatch { get; private set; }

        /// <summary>Messages in flight on the current socket.</summary>
        public int InFlight => inFlight.Count;

        /// <summary>The credit wanted while healthy.</summary>
        public int MaxInFlight => cfg.MaxInFlight;

        private int Credit => backoffUntil.HasValue ? 0 : cfg.MaxInFlight;

        private static SessionAction Send(JObject frame) => new SessionAction.Send { Frame = Json.Encode(frame) };

        private static JObject Rdy(int count) => new JObject { ["op"] = "rdy", ["count"] = count };

        private static SessionAction.Answer Refuse(long r, string code, string message) =>
            new SessionAction.Answer { Ref = r, Ok = false, Code = code, Message = message };

        /// <summary>The socket opened: say <c>hello</c>. <paramref name="token"/>, if given, is the token of this connect (from a token provider).</summary>
        public List<SessionAction> Opened(long now, string token = null)
        {
            if (Phase == SessionPhase.Stopped) return new List<SessionAction> { new SessionAction.Close { Code = 1000, Reason = "stopped" } };
            Phase = SessionPhase.Handshake;
            var hello = new JObject { ["op"] = "hello" };
            if (token != null || cfg.Token != null) hello["token"] = token ?? cfg.Token;
            else if (cfg.Login != null)
            {
                hello["login"] = cfg.Login;
                hello["secret"] = cfg.Secret;
            }
            if (cfg.ClientId != null) hello["client_id"] = cfg.ClientId;
            // The server wants 1.. here; a subscriber in backoff sends `rdy 0` after welcome.
            hello["max_in_flight"] = Math.Max(1, cfg.MaxInFlight);
            hello["handler_timeout_ms"] = cfg.HandlerTimeoutMs;
            hello["max_attempts"] = cfg.MaxAttempts;
            hello["heartbeat_ms"] = cfg.HeartbeatMs;
            if (cfg.Batch) hello["batch"] = true;
            pingAt = now + heartbeatMs;
            return new List<SessionAction> { Send(hello) };
        }

        /// <summary>A text frame arrived.</summary>
        public List<SessionAction> Received(long now, string text)
        {
            var output = new List<SessionAction>();
            JObject f;
            try
            {
                f = Json.Parse(text) as JObject;
            }
            catch (Exception e)
            {
                output.Add(new SessionAction.Error { Code = "invalid_request", Message = "malformed frame: " + e.Message });
                return output;
            }
            var op = f == null ? null : Json.Str(f, "op");
            switch (op)
            {
                case "welcome":
                    Phase = SessionPhase.Live;
                    attempt = 0;
                    authRetried = false;
                    heartbeatMs = Math.Max(1000, Json.Long(f, "heartbeat_ms") ?? cfg.HeartbeatMs);
                    pingAt = now + heartbeatMs;
                    ServerBatch = Json.Bool(f, "batch") == true;
                    output.Add(new SessionAction.Welcome
                    {
                        Session = Json.Str(f, "session") ?? "",
                        HeartbeatMs = heartbeatMs,
                        Partition = (int?)Json.Long(f, "partition"),
                        Partitions = (int?)Json.Long(f, "partitions"),
                        Batch = ServerBatch,
                    });
                    if (Credit == 0) output.Add(Send(Rdy(0)));
                    while (queue.Count > 0) output.Add(new SessionAction.Send { Frame = queue.Dequeue() });
                    break;
                case "msg":
                    Deliver(f, output);
                    break;
                case "msgs":
                    if (f["messages"] is JArray list)
                    {
                        foreach (var m in list.OfType<JObject>()) Deliver(m, output);
                    }
                    break;
                case "ok":
                    OnOk(f, output);
                    break;
                case "error":
                    OnError(f, output);
                    break;
                case "pong":
                    break;
                default:
                    output.Add(new SessionAction.Error { Code = "invalid_request", Message = "unknown frame: " + Truncate(text) });
                    break;
            }
            return output;
        }

        private static string Truncate(string s) => s.Length <= 200 ? s : s.Substring(0, 200) + "...";

        private void Deliver(JObject m, List<SessionAction> output)
        {
            var id = Json.Str(m, "id");
            if (id == null || m["event"] == null)
            {
                output.Add(new SessionAction.Error { Code = "invalid_request", Message = "delivery without id or event" });
                return;
            }
            inFlight.Add(id);
            var checkpoint = m["checkpoint"];
            output.Add(new SessionAction.Deliver
            {
                Id = id,
                Seq = Json.Long(m, "seq") ?? 0,
                Partition = (int)(Json.Long(m, "partition") ?? cfg.Partition ?? 0),
                Attempt = (int)(Json.Long(m, "attempt") ?? 1),
                Failures = (int)(Json.Long(m, "failures") ?? 0),
                Deadline = Json.Long(m, "deadline") ?? 0,
                Reply = Json.Bool(m, "reply") ?? false,
                Checkpoint = checkpoint == null || checkpoint.Type == JTokenType.Null ? null : checkpoint,
                Event = m["event"],
            });
        }

        /// <summary>Our refs are numbers; anything else was not sent by this session.</summary>
        private static long? OurRef(JObject f)
        {
            var r = f["ref"];
            return r != null && r.Type == JTokenType.Integer ? (long?)(long)r : null;
        }

        private void OnOk(JObject f, List<SessionAction> output)
        {
            var r = OurRef(f);
            if (!r.HasValue || !pending.TryGetValue(r.Value, out var p)) return;
            pending.Remove(r.Value);
            if (p.Calls != null)
            {
                var missing = new HashSet<string>((f["missing"] as JArray)?.Select(t => (string)t) ?? Enumerable.Empty<string>());
                foreach (var call in p.Calls)
                {
                    output.Add(missing.Contains(call.Value)
                        ? Refuse(call.Key, "not_found", $"message {call.Value} is not in flight to this consumer")
                        : new SessionAction.Answer { Ref = call.Key, Ok = true });
                }
            }
            else
            {
                output.Add(new SessionAction.Answer { Ref = r.Value, Ok = true, Deadline = Json.Long(f, "deadline") });
            }
            LaneAnswered(p, output);
        }

        private void OnError(JObject f, List<SessionAction> output)
        {
            var code = Json.Str(f, "code") ?? "internal";
            var message = Json.Str(f, "message") ?? "";
            var r = OurRef(f);
            if (r.HasValue && pending.TryGetValue(r.Value, out var p))
            {
                pending.Remove(r.Value);
                var calls = p.Calls ?? new List<KeyValuePair<long, string>> { new KeyValuePair<long, string>(r.Value, p.Returns) };
                foreach (var call in calls)
                {
                    // A finishing frame refused for another reason than "not in flight": the
                    // message is still ours to settle.
                    var back = p.Calls != null ? call.Value : p.Returns;
                    if (back != null && code != "not_found") inFlight.Add(back);
                    output.Add(Refuse(call.Key, code, message));
                }
                LaneAnswered(p, output);
                return;
            }
            if (Phase == SessionPhase.Handshake && (code == "unauthorized" || code == "forbidden"))
            {
                // The server closes with 4001 / 4003 next: the close decides (a token provider
                // gets one retry), as in the JS client.
                return;
            }
            if (Phase == SessionPhase.Handshake)
            {
                // A refused hello (bad settings): the server keeps the socket but will never
                // welcome it. Retrying the same settings cannot help.
                Phase = SessionPhase.Stopped;
                output.Add(new SessionAction.Fatal { Code = code, Message = message });
                output.Add(new SessionAction.Close { Code = 1000, Reason = message });
                return;
            }
            output.Add(new SessionAction.Error { Code = code, Message = message });
        }

        /// <summary>
        /// A handler returned (<paramref name="ok"/>) or threw. A throw starts or extends the
        /// handler backoff (credit 0 at once); a success resets the failure count, and the
        /// running backoff ends on its timer.
        /// </summary>
        public List<SessionAction> HandlerDone(long now, bool ok)
        {
            var output = new List<SessionAction>();
            if (ok)
            {
                failures = 0;
                return output;
            }
            failures = failures == int.MaxValue ? failures : failures + 1;
            var wasOpen = !backoffUntil.HasValue;
            backoffUntil = now + Backoff.HandlerDelay(cfg.BackoffMs, failures);
            if (wasOpen && Phase == SessionPhase.Live) output.Add(Send(Rdy(0)));
            return output;
        }

        /// <summary>Changes the credit wanted while healthy.</summary>
        public List<SessionAction> SetMaxInFlight(int count)
        {
            cfg.MaxInFlight = count;
            var frame = Json.Encode(Rdy(Credit));
            if (Phase == SessionPhase.Live) return new List<SessionAction> { new SessionAction.Send { Frame = frame } };
            if (queue.Count >= cfg.QueueCap) queue.Dequeue();
            queue.Enqueue(frame);
            return new List<SessionAction>();
        }

        /// <summary>When <see cref="Timer"/> must be called next (ms since the epoch), if at all.</summary>
        public long? NextTimer()
        {
            var ping = Phase == SessionPhase.Live ? pingAt : null;
            if (ping.HasValue && backoffUntil.HasValue) return Math.Min(ping.Value, backoffUntil.Value);
            return ping ?? backoffUntil;
        }

        /// <summary>Time passed: end a backoff, send a keep-alive.</summary>
        public List<SessionAction> Timer(long now)
        {
            var output = new List<SessionAction>();
            if (backoffUntil.HasValue && backoffUntil.Value <= now)
            {
                backoffUntil = null;
                if (Phase == SessionPhase.Live) output.Add(Send(Rdy(Credit)));
            }
            if (Phase == SessionPhase.Live && pingAt.HasValue && pingAt.Value <= now)
            {
                pingAt = now + heartbeatMs;
                output.Add(Send(new JObject { ["op"] = "ping" }));
            }
            return output;
        }

        /// <summary>The socket closed (or never opened). <paramref name="random"/> in [0, 1) jitters the reconnect delay.</summary>
        public List<SessionAction> Closed(int code, string reason, double random)
        {
            var output = new List<SessionAction>();
            if (inFlight.Count > 0) output.Add(new SessionAction.Abort { Ids = inFlight.ToArray() });
            inFlight.Clear();
            var lost = pending.SelectMany(kv => kv.Value.Calls?.Select(c => c.Key) ?? new[] { kv.Key })
                .Concat(lanes.Values.SelectMany(l => l.Waiting.Select(c => c.Key)))
                .OrderBy(r => r).ToList();
            pending.Clear();
            lanes.Clear();
            foreach (var r in lost) output.Add(Refuse(r, "disconnected", "the connection closed before an answer"));
            pingAt = null;
            ServerBatch = false;
            if (Phase == SessionPhase.Stopped) return output;
            if (code == 4001 && cfg.RetryUnauthorizedOnce && !authRetried)
            {
                authRetried = true;
            }
            else if (Array.IndexOf(FatalCloseCodes, code) >= 0)
            {
                Phase = SessionPhase.Stopped;
                var error = code == 4001 ? "unauthorized" : code == 4003 ? "forbidden" : "not_found";
                output.Add(new SessionAction.Fatal { Code = error, Message = string.IsNullOrEmpty(reason) ? "closed with " + code : reason });
                return output;
            }
            Phase = SessionPhase.Disconnected;
            var after = Backoff.ReconnectDelay(cfg.ReconnectMinMs, cfg.ReconnectMaxMs, attempt, random);
            attempt = attempt == int.MaxValue ? attempt : attempt + 1;
            output.Add(new SessionAction.Reconnect { AfterMs = after });
            return output;
        }

        /// <summary>The driver found a reason to stop for good (e.g. an upgrade refused with 400).</summary>
        public List<SessionAction> Fail(string code, string message)
        {
            var output = Closed(1000, message, 0);
            output.RemoveAll(a => a is SessionAction.Reconnect);
            if (Phase == SessionPhase.Stopped) return output;
            Phase = SessionPhase.Stopped;
            output.Add(new SessionAction.Fatal { Code = code, Message = message });
            return output;
        }

        /// <summary>The application stops the subscriber: no reconnect; messages in flight go back to the server when the socket closes.</summary>
        public List<SessionAction> Stop()
        {
            var was = Phase;
            var output = new List<SessionAction>();
            // Acks still waiting for their lane go before the close: the bus applies them in order.
            if (was == SessionPhase.Live) FlushLanes(output);
            Phase = SessionPhase.Stopped;
            if (was != SessionPhase.Disconnected && was != SessionPhase.Stopped)
                output.Add(new SessionAction.Close { Code = 1000, Reason = "subscriber stopped" });
            return output;
        }
    }
}
