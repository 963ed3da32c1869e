using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>The consumer session on a virtual clock, fed the golden server frames (tests/fixtures).</summary>
    internal static class SessionTests
    {
        internal static List<JObject> Sent(IEnumerable<SessionAction> actions) =>
            actions.OfType<SessionAction.Send>().Select(s => (JObject)Json.Parse(s.Frame)).ToList();

        internal static T One<T>(IEnumerable<SessionAction> actions) where T : SessionAction
        {
            var found = actions.OfType<T>().ToList();
            Check.Equal(1, found.Count, "actions of type " + typeof(T).Name);
            return found[0];
        }

        internal static ConsumerSession Live(SessionConfig cfg = null, string welcome = null)
        {
            var s = new ConsumerSession(cfg ?? new SessionConfig { Login = "foo", Secret = "s3cret", MaxInFlight = 3 });
            s.Opened(0);
            s.Received(1, welcome ?? Env.Fixture("server-frames/welcome.json"));
            return s;
        }

        [Test]
        public static void HelloCarriesCredentialsAndSettings()
        {
            var s = new ConsumerSession(new SessionConfig
            {
                Login = "foo", Secret = "s3cret", ClientId = "worker-1", MaxInFlight = 3,
                HandlerTimeoutMs = 60000, MaxAttempts = 5, HeartbeatMs = 30000,
            });
            var hello = Sent(s.Opened(0)).Single();
            var golden = (JObject)Json.Parse(Env.Fixture("frames/hello.json"));
            foreach (var p in golden.Properties()) Check.True(JToken.DeepEquals(p.Value, hello[p.Name]), $"hello.{p.Name} = {p.Value} (got {hello[p.Name]})");
            Check.Equal(true, (bool)hello["batch"], "hello asks for batch delivery");
            Check.Equal(SessionPhase.Handshake, s.Phase);
        }

        [Test]
        public static void TokenHelloAndProviderToken()
        {
            var s = new ConsumerSession(new SessionConfig { Token = "t0" });
            Check.Equal("t0", (string)Sent(s.Opened(0)).Single()["token"]);
            Check.Equal("fresh", (string)Sent(s.Opened(0, "fresh")).Single()["token"]);
            Check.True(Sent(s.Opened(0, "fresh")).Single()["login"] == null, "no login with a token");
        }

        [Test]
        public static void WelcomeThenDeliveryWithCheckpoint()
        {
            var s = new ConsumerSession(new SessionConfig());
            s.Opened(0);
            var w = One<SessionAction.Welcome>(s.Received(5, Env.Fixture("server-frames/welcome.json")));
            Check.Equal("1a", w.Session);
            Check.Equal(30000L, w.HeartbeatMs);
            Check.Equal(false, w.Batch, "a v1 welcome has no batch");
            Check.Equal(null, w.Partitions, "a v1 welcome has no partitions");
            Check.Equal(SessionPhase.Live, s.Phase);
            var d = One<SessionAction.Deliver>(s.Received(6, Env.Fixture("server-frames/msg.json")));
            Check.Equal("000000000000002a", d.Id);
            Check.Equal(42L, d.Seq);
            Check.Equal(2, d.Attempt);
            Check.Equal(1, d.Failures);
            Check.Equal(0, d.Partition, "partition defaults to 0 on a v1 server");
            Check.Equal(1790000000000L, d.Deadline);
            Check.Equal(2, (int)d.Checkpoint["counter"]);
            Check.Equal("Hello World", (string)d.Event["data"]["message"]);
            Check.Equal(1, s.InFlight);
        }

        [Test]
        public static void SettleFramesMatchTheGoldenOnes()
        {
            var s = Live();
            s.Received(2, Env.Fixture("server-frames/msg.json"));
            var (r, actions) = s.Settle("touch", "000000000000002a", JObject.Parse("{\"counter\":2}"), null);
            var touch = Sent(actions).Single();
            Check.Equal("touch", (string)touch["op"]);
            Check.True(JToken.DeepEquals(touch["state"], JObject.Parse("{\"counter\":2}")), "touch carries the state");
            Check.Equal(r, (long)touch["ref"]);
            var answer = One<SessionAction.Answer>(s.Received(3, "{\"op\":\"ok\",\"ref\":" + r + ",\"deadline\":1790000060000}"));
            Check.Equal(true, answer.Ok);
            Check.Equal(1790000060000L, answer.Deadline);
            var (r2, shelve) = s.Settle("shelve", "000000000000002a", JObject.Parse("{\"counter\":2}"), 5000);
            var frame = Sent(shelve).Single();
            var golden = (JObject)Json.Parse(Env.Fixture("frames/shelve.json"));
            foreach (var name in new[] { "op", "id", "delay_ms", "state" }) Check.True(JToken.DeepEquals(golden[name], frame[name]), "shelve." + name);
            Check.Equal(0, s.InFlight, "a shelve takes the message out of flight at once");
            var again = One<SessionAction.Answer>(s.Settle("fin", "000000000000002a", null, null).Actions);
            Check.Equal("not_found", again.Code, "a second settle is refused locally");
        }

        [Test]
        public static void RefusedFinPutsTheMessageBackUnlessNotFound()
        {
            var s = Live();
            s.Received(2, Env.Fixture("server-frames/msg.json"));
            var r = s.Settle("fin", "000000000000002a", null, null).Ref;
            var a = One<SessionAction.Answer>(s.Received(3, "{\"op\":\"error\",\"ref\":" + r + ",\"code\":\"payload_too_large\",\"message\":\"big\"}"));
            Check.Equal("payload_too_large", a.Code);
            Check.Equal(1, s.InFlight, "still ours after a refusal that is not not_found");
            var r2 = s.Settle("fin", "000000000000002a", null, null).Ref;
            a = One<SessionAction.Answer>(s.Received(4, "{\"op\":\"error\",\"ref\":" + r2 + ",\"code\":\"not_found\",\"message\":\"gone\"}"));
            Check.Equal("not_found", a.Code);
            Check.Equal(0, s.InFlight);
            // An error whose ref is not ours (the fixture's "r2") is reported, not matched.
            Check.Equal("not_found", One<SessionAction.Error>(s.Received(5, Env.Fixture("server-frames/error.json"))).Code);
        }

        [Test]
        public static void HandlerBackoffSendsRdyZeroThenCreditAfterTheDelay()
        {
            var s = Live(new SessionConfig { MaxInFlight = 3, BackoffMs = 5000 });
            var rdy0 = Sent(s.HandlerDone(100, false)).Single();
            Check.Equal("rdy", (string)rdy0["op"]);
            Check.Equal(0, (int)rdy0["count"]);
            Check.Equal(5100L, s.NextTimer());
            Check.Equal(0, Sent(s.HandlerDone(200, false)).Count, "already backing off: no second rdy 0");
            Check.Equal(10200L, s.NextTimer(), "the second failure doubles the delay");
            Check.Equal(0, Sent(s.Timer(10199)).Count(f => (string)f["op"] == "rdy"));
            var rdy = Sent(s.Timer(10200)).Single(f => (string)f["op"] == "rdy");
            Check.Equal(3, (int)rdy["count"]);
            s.HandlerDone(10300, true);
            s.HandlerDone(10400, false);
            Check.Equal(15400L, s.NextTimer(), "a success resets the doubling");
        }

        [Test]
        public static void PingsEveryHeartbeatAndPongIsQuiet()
        {
            var s = Live(null, "{\"op\":\"welcome\",\"topic\":\"t\",\"channel\":\"c\",\"session\":\"1\",\"max_in_flight\":1,\"heartbeat_ms\":5000}");
            Check.Equal(5001L, s.NextTimer());
            Check.Equal("ping", (string)Sent(s.Timer(5001)).Single()["op"]);
            Check.Equal(10001L, s.NextTimer());
            Check.Equal(0, s.Received(5002, Env.Fixture("server-frames/pong.json")).Count, "a pong (possibly the runtime's own) changes nothing");
        }

        [Test]
        public static void CloseAbortsInFlightRefusesPendingAndReconnects()
        {
            var s = Live();
            s.Received(2, Env.Fixture("server-frames/msg.json"));
            var r = s.Settle("touch", "000000000000002a", null, null).Ref;
            var actions = s.Closed(1006, "", 0.5);
            Check.Equal("000000000000002a", One<SessionAction.Abort>(actions).Ids.Single());
            var refused = One<SessionAction.Answer>(actions);
            Check.Equal(r, refused.Ref);
            Check.Equal("disconnected", refused.Code);
            Check.Equal(250L, One<SessionAction.Reconnect>(actions).AfterMs, "full jitter: half of the 500 ms cap");
            Check.Equal(SessionPhase.Disconnected, s.Phase);
            Check.Equal("disconnected", One<SessionAction.Answer>(s.Settle("fin", "000000000000002a", null, null).Actions).Code);
            s.SetMaxInFlight(7);
            s.Opened(10);
            var queued = Sent(s.Received(11, Env.Fixture("server-frames/welcome.json")));
            Check.Equal(7, (int)queued.Single(f => (string)f["op"] == "rdy")["count"], "rdy made while disconnected is sent after welcome");
        }

        [Test]
        public static void FatalCloseCodes()
        {
            foreach (var pair in new[] { (4001, "unauthorized"), (4003, "forbidden"), (4004, "not_found") })
            {
                var (code, error) = pair;
                var s = Live();
                var f = One<SessionAction.Fatal>(s.Closed(code, "why", 0.5));
                Check.Equal(error, f.Code);
                Check.Equal(SessionPhase.Stopped, s.Phase);
            }
        }

        [Test]
        public static void TokenProviderRetriesOneUnauthorizedClose()
        {
            var s = new ConsumerSession(new SessionConfig { RetryUnauthorizedOnce = true });
            s.Opened(0);
            Check.True(s.Closed(4001, "expired", 0.5).OfType<SessionAction.Reconnect>().Any(), "the first 4001 reconnects");
            s.Opened(1);
            Check.True(s.Closed(4001, "expired", 0.5).OfType<SessionAction.Fatal>().Any(), "a second 4001 in a row is final");
        }

        [Test]
        public static void TokenProviderRetriesWhenAnErrorFrameComesBeforeThe4001()
        {
            var s = new ConsumerSession(new SessionConfig { RetryUnauthorizedOnce = true });
            s.Opened(0);
            Check.Equal(0, s.Received(1, "{\"op\":\"error\",\"code\":\"unauthorized\",\"message\":\"token expired\"}").Count, "waits for the close");
            Check.True(s.Closed(4001, "token expired", 0.5).OfType<SessionAction.Reconnect>().Any(), "the first 4001 reconnects");
            s.Opened(1);
            s.Received(2, "{\"op\":\"error\",\"code\":\"unauthorized\",\"message\":\"token expired\"}");
            var f = One<SessionAction.Fatal>(s.Closed(4001, "token expired", 0.5));
            Check.Equal("unauthorized", f.Code, "the second in a row is final");
            var plain = new ConsumerSession(new SessionConfig());
            plain.Opened(0);
            plain.Received(1, "{\"op\":\"error\",\"code\":\"forbidden\",\"message\":\"no\"}");
            Check.Equal("forbidden", One<SessionAction.Fatal>(plain.Closed(4003, "no", 0.5)).Code, "without a provider the close is final");
        }

        [Test]
        public static void RefusedHelloIsFatal()
        {
            var s = new ConsumerSession(new SessionConfig());
            s.Opened(0);
            var f = One<SessionAction.Fatal>(s.Received(1, "{\"op\":\"error\",\"code\":\"invalid_request\",\"message\":\"handler_timeout_ms must be 1000..3600000\"}"));
            Check.Equal("invalid_request", f.Code);
            Check.Equal(SessionPhase.Stopped, s.Phase);
        }

        [Test]
        public static void MalformedAndUnknownFramesAreErrors()
        {
            var s = Live();
            Check.Equal("invalid_request", One<SessionAction.Error>(s.Received(2, "{not json")).Code);
            Check.Equal("invalid_request", One<SessionAction.Error>(s.Received(2, "{\"op\":\"surprise\"}")).Code);
            Check.Equal(0, s.Received(2, Env.Fixture("server-frames/ok.json")).Count, "an ok whose ref is not ours is ignored");
        }
    }
}
