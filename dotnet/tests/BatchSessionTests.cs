using System.Linq;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>
    /// The v1.1 paths of the session against canned frames: batch delivery (<c>msgs</c>),
    /// settles coalesced into <c>ids</c> frames only when the welcome says <c>"batch": true</c>,
    /// and partition fields.
    /// </summary>
    internal static class BatchSessionTests
    {
        private const string BatchWelcome =
            "{\"op\":\"welcome\",\"topic\":\"t\",\"channel\":\"c\",\"session\":\"9\",\"max_in_flight\":4,\"heartbeat_ms\":30000,\"batch\":true,\"partition\":2,\"partitions\":4}";

        private static string Msg(string id, long seq, int? partition = null) =>
            "{\"id\":\"" + id + "\",\"seq\":" + seq + (partition.HasValue ? ",\"partition\":" + partition : "") +
            ",\"attempt\":1,\"failures\":0,\"deadline\":1790000000000,\"reply\":false,\"checkpoint\":null,\"event\":{\"specversion\":\"1.0\",\"id\":\"e" + seq + "\",\"source\":\"/s\",\"type\":\"t\",\"data\":" + seq + "}}";

        private static ConsumerSession Batched()
        {
            var s = SessionTests.Live(new SessionConfig { MaxInFlight = 4, Partition = 2 }, BatchWelcome);
            Check.True(s.ServerBatch, "the welcome offered batch frames");
            s.Received(2, "{\"op\":\"msgs\",\"messages\":[" + Msg("p2-a", 1, 2) + "," + Msg("p2-b", 2) + "," + Msg("p2-c", 3) + "," + Msg("p2-d", 4) + "]}");
            return s;
        }

        [Test]
        public static void WelcomeWithPartitionsAndBatch()
        {
            var s = new ConsumerSession(new SessionConfig { Partition = 2 });
            s.Opened(0);
            var w = SessionTests.One<SessionAction.Welcome>(s.Received(1, BatchWelcome));
            Check.Equal(2, w.Partition);
            Check.Equal(4, w.Partitions);
            Check.Equal(true, w.Batch);
        }

        [Test]
        public static void MsgsFrameDeliversEachMessage()
        {
            var s = new ConsumerSession(new SessionConfig { Partition = 2 });
            s.Opened(0);
            s.Received(1, BatchWelcome);
            var ds = s.Received(2, "{\"op\":\"msgs\",\"messages\":[" + Msg("a", 1, 2) + "," + Msg("b", 2) + "]}").OfType<SessionAction.Deliver>().ToList();
            Check.Equal("a,b", string.Join(",", ds.Select(d => d.Id)));
            Check.Equal(2, ds[0].Partition, "partition from the message");
            Check.Equal(2, ds[1].Partition, "partition of the socket when the message has none");
            Check.Equal(2L, (long)ds[1].Event["data"]);
            Check.Equal(2, s.InFlight);
            var single = SessionTests.One<SessionAction.Deliver>(s.Received(3, "{\"op\":\"msg\"," + Msg("c", 3).Substring(1)));
            Check.Equal("c", single.Id, "a batch consumer still takes msg frames");
        }

        [Test]
        public static void StopSendsTheAcksStillWaitingBeforeItsClose()
        {
            var s = Batched();
            s.Settle("fin", "p2-a", null, null);
            s.Settle("fin", "p2-b", null, null);
            s.Settle("req", "p2-c", null, 500);
            s.Settle("req", "p2-d", null, 500);
            var stop = s.Stop();
            var frames = SessionTests.Sent(stop).ToList();
            var sent = string.Join(",", frames.Select(f => (string)f["op"] + ":" + (string)f["id"] + ":" + (long?)f["delay_ms"]).OrderBy(x => x));
            Check.Equal("fin:p2-b:,req:p2-d:500", sent, "the fin and the req that waited behind their lanes' first frames went, with the req's delay");
            Check.True(stop.Last() is SessionAction.Close, "the close comes after the acks");
            Check.Equal(0, SessionTests.Sent(s.Stop()).Count(), "a second stop sends nothing");
        }

        [Test]
        public static void StatelessFinsCoalesceBehindTheOutstandingOne()
        {
            var s = Batched();
            var (ra, first) = s.Settle("fin", "p2-a", null, null);
            var f1 = SessionTests.Sent(first).Single();
            Check.Equal("p2-a", (string)f1["id"], "nothing outstanding: sent at once, in the single form");
            var (rb, wait1) = s.Settle("fin", "p2-b", null, null);
            var (rc, wait2) = s.Settle("fin", "p2-c", null, null);
            Check.Equal(0, wait1.Count + wait2.Count, "later fins wait for the outstanding one");
            var withState = s.Settle("fin", "p2-d", JObject.Parse("{\"n\":1}"), null).Actions;
            Check.Equal("p2-d", (string)SessionTests.Sent(withState).Single()["id"], "a fin with state is never batched (ids frames take no state)");
            var after = s.Received(3, "{\"op\":\"ok\",\"ref\":" + ra + "}");
            Check.Equal(ra, SessionTests.One<SessionAction.Answer>(after).Ref);
            var batch = SessionTests.Sent(after).Single();
            Check.Equal("fin", (string)batch["op"]);
            Check.Equal("p2-b,p2-c", string.Join(",", ((JArray)batch["ids"]).Select(t => (string)t)));
            Check.True(batch["id"] == null && batch["state"] == null, "an ids frame has neither id nor state");
            var answers = s.Received(4, "{\"op\":\"ok\",\"ref\":" + (long)batch["ref"] + ",\"settled\":1,\"missing\":[\"p2-c\"]}")
                .OfType<SessionAction.Answer>().ToDictionary(a => a.Ref);
            Check.Equal(true, answers[rb].Ok, "p2-b settled");
            Check.Equal("not_found", answers[rc].Code, "a missing id is that call's not_found");
            Check.Equal(0, s.InFlight);
        }

        [Test]
        public static void RequeuesWithADelayShareALane()
        {
            var s = Batched();
            var (r1, a1) = s.Settle("req", "p2-a", null, 1000);
            Check.Equal(1000L, (long)SessionTests.Sent(a1).Single()["delay_ms"]);
            s.Settle("req", "p2-b", null, 1000);
            s.Settle("req", "p2-c", null, 1000);
            var other = s.Settle("req", "p2-d", null, 50).Actions;
            Check.Equal("p2-d", (string)SessionTests.Sent(other).Single()["id"], "another delay is another lane");
            var frame = SessionTests.Sent(s.Received(3, "{\"op\":\"ok\",\"ref\":" + r1 + "}")).Single();
            Check.Equal("req", (string)frame["op"]);
            Check.Equal(1000L, (long)frame["delay_ms"]);
            Check.Equal(2, ((JArray)frame["ids"]).Count);
        }

        [Test]
        public static void RefusedIdsFrameRefusesEachCall()
        {
            var s = Batched();
            var ra = s.Settle("fin", "p2-a", null, null).Ref;
            var rb = s.Settle("fin", "p2-b", null, null).Ref;
            var rc = s.Settle("fin", "p2-c", null, null).Ref;
            var batch = SessionTests.Sent(s.Received(3, "{\"op\":\"ok\",\"ref\":" + ra + "}")).Single();
            var answers = s.Received(4, "{\"op\":\"error\",\"ref\":" + (long)batch["ref"] + ",\"code\":\"internal\",\"message\":\"storage\"}").OfType<SessionAction.Answer>().ToList();
            Check.Equal("internal,internal", string.Join(",", answers.Select(a => a.Code)));
            Check.Equal(3, s.InFlight, "refused for another reason than not_found: still ours (with p2-d, never settled)");
        }

        [Test]
        public static void WaitingSettlesAreRefusedWhenTheSocketCloses()
        {
            var s = Batched();
            var ra = s.Settle("fin", "p2-a", null, null).Ref;
            var rb = s.Settle("fin", "p2-b", null, null).Ref;
            var answers = s.Closed(1006, "", 0.1).OfType<SessionAction.Answer>().Select(a => a.Ref + ":" + a.Code).ToList();
            Check.Equal($"{ra}:disconnected,{rb}:disconnected", string.Join(",", answers));
            Check.Equal(false, s.ServerBatch, "a new socket must offer batch again");
        }

        [Test]
        public static void AV1ServerGetsOnlySingleFrames()
        {
            var s = SessionTests.Live(new SessionConfig { MaxInFlight = 2 });
            s.Received(2, "{\"op\":\"msg\"," + Msg("a", 1).Substring(1));
            s.Received(2, "{\"op\":\"msg\"," + Msg("b", 2).Substring(1));
            var f1 = SessionTests.Sent(s.Settle("fin", "a", null, null).Actions).Single();
            var f2 = SessionTests.Sent(s.Settle("fin", "b", null, null).Actions).Single();
            Check.Equal("a", (string)f1["id"]);
            Check.Equal("b", (string)f2["id"], "no welcome batch flag: every fin goes at once, alone");
        }
    }
}
