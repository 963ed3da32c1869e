using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>
    /// The subscriber's driver over fake sockets and a fake HTTP handler: partition fan-out
    /// (409 with a count, or the stats probe), batch delivery and batched fins, refused
    /// upgrades as typed errors, reconnect and redelivery, handler backoff, heartbeats,
    /// token providers, and the partition in publish answers.
    /// </summary>
    internal static class DriverTests
    {
        internal static IsmlConnection Fake(FakeBus bus, FakeHttp http = null, Action<IsmlConnectionOptions> configure = null)
        {
            var o = new IsmlConnectionOptions
            {
                Host = "fake.invalid:1",
                ClientCredentials = new ClientCredentials { Login = "foo", Secret = "bar" },
                WebSocketFactory = bus.Create,
                HttpHandler = http ?? new FakeHttp(_ => (404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no topic\"}}")),
                BackoffDuration = TimeSpan.FromMilliseconds(200),
                ReconnectMin = TimeSpan.FromMilliseconds(20),
                ReconnectMax = TimeSpan.FromMilliseconds(100),
                ConnectTimeout = TimeSpan.FromSeconds(5),
            };
            configure?.Invoke(o);
            return new IsmlConnection(o);
        }

        private static Exception Conflict(int partitions) => new SocketUpgradeException(409,
            "{\"error\":{\"code\":\"conflict\",\"message\":\"topic t has " + partitions + " partitions: add ?partition=P\"},\"partitions\":" + partitions + "}", "409");

        private static IEnumerable<string> Settled(FakeSocket s, string op) =>
            s.Frames(op).SelectMany(f => f["ids"] is JArray ids ? ids.Select(t => (string)t) : new[] { (string)f["id"] });

        [Test]
        public static async Task PartitionedTopicFansOutOnA409()
        {
            var bus = new FakeBus { Refuse = (u, h) => u.Query.Contains("partition=") ? null : Conflict(3), OnFrame = FakeBus.Server(true, 3) };
            var conn = Fake(bus);
            var handled = new Inbox<IsmlMessage>();
            var sub = conn.Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c", MaxInFlight = 4 }, m => { handled.Add(m); return Task.CompletedTask; });
            await Check.Within(sub.Start(), "start on 3 partitions");
            Check.Equal(3, sub.Partitions);
            var sockets = bus.All.OrderBy(s => s.Partition).ToList();
            Check.Equal("0,1,2", string.Join(",", sockets.Select(s => s.Partition)));
            Check.Equal("2,1,1", string.Join(",", sockets.Select(s => (int)s.Frames("hello")[0]["max_in_flight"])), "MaxInFlight 4 spread, at least 1 each");
            Check.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("foo:bar")), sockets[0].Headers["Authorization"], "credentials on the upgrade");
            Check.Equal("foo", (string)sockets[0].Frames("hello")[0]["login"], "and in hello");
            var p1 = sockets[1];
            p1.Push("{\"op\":\"msgs\",\"messages\":[" + string.Join(",", new[] { "p1-a", "p1-b", "p1-c" }.Select((id, i) =>
            {
                var m = (JObject)Json.Parse(FakeBus.Msg(id, i + 1, 1));
                m.Remove("op");
                return m.ToString(Newtonsoft.Json.Formatting.None);
            })) + "]}");
            var got = new List<IsmlMessage>();
            for (var i = 0; i < 3; i++) got.Add(await handled.Next(null, 10, "a message of partition 1"));
            Check.Equal("1,1,1", string.Join(",", got.Select(m => m.Partition)));
            await Check.Within(WaitFor(() => Settled(p1, "fin").Count() == 3), "three fins");
            Check.Equal("p1-a,p1-b,p1-c", string.Join(",", Settled(p1, "fin").OrderBy(x => x)));
            await sub.Stop();
        }

        [Test]
        public static async Task AHandlerErrorNamesItsPartitionAndZeroCreditPauses()
        {
            var bus = new FakeBus { Refuse = (u, h) => u.Query.Contains("partition=") ? null : Conflict(2), OnFrame = FakeBus.Server(false, 2) };
            var conn = Fake(bus);
            var errors = new Inbox<IsmlEventArgs>();
            conn.Error += (_, args) => errors.Add(args);
            var sub = conn.Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c", MaxInFlight = 4 }, m => throw new InvalidOperationException("boom " + m.Id));
            await Check.Within(sub.Start(), "start on 2 partitions");
            // Credit 0 pauses every partition (before any handler ran: no backoff's rdy 0).
            sub.SetMaxInFlight(0);
            await Check.Within(WaitFor(() => bus.All.All(s => s.Frames("rdy").Any(f => (int)f["count"] == 0))), "rdy 0 on every partition");
            await Check.Throws<InvalidRequestException>(() => { sub.SetMaxInFlight(-1); return Task.CompletedTask; }, "negative credit");
            sub.SetMaxInFlight(4);
            var p1 = bus.All.Single(s => s.Partition == 1);
            p1.Push(FakeBus.Msg("p1-x", 1, 1));
            var failed = await errors.Next(x => x.Error is InvalidOperationException, 10, "the handler's error");
            Check.Equal(1, failed.Partition, "the partition of the message's socket");
            Check.True(failed.Subscriber == sub, "and its subscriber");
            await sub.Stop();
        }

        [Test]
        public static async Task StopFromAHandlerWaitsForTheOtherHandlersOnly()
        {
            var bus = new FakeBus { OnFrame = FakeBus.Server(false) };
            var conn = Fake(bus);
            var slowDone = new TaskCompletionSource<bool>();
            var release = new TaskCompletionSource<bool>();
            Task stopping = null;
            var stopped = new TaskCompletionSource<bool>();
            Subscriber sub = null;
            sub = conn.Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c", MaxInFlight = 2 }, async m =>
            {
                if (m.Id == "slow")
                {
                    await release.Task.ConfigureAwait(false);
                    slowDone.TrySetResult(true);
                    return;
                }
                stopping = sub.Stop();
                await stopping.ConfigureAwait(false);
                stopped.TrySetResult(slowDone.Task.IsCompleted);
            });
            await Check.Within(sub.Start(), "start");
            var socket = bus.All.Single();
            socket.Push(FakeBus.Msg("slow", 1));
            socket.Push(FakeBus.Msg("stopper", 2));
            await Check.Within(WaitFor(() => stopping != null), "the handler called Stop()");
            Check.True(!stopped.Task.IsCompleted, "Stop() waits for the other running handler");
            release.SetResult(true);
            Check.True(await Check.Within(stopped.Task, "Stop() awaited in a handler completes (no deadlock)"), "after the other handler returned");
            await Check.Within(sub.Stop(), "a second Stop() from outside completes too");
        }

        [Test]
        public static async Task ProbeFindsPartitionsWhenThePlatformHidesTheStatus()
        {
            var bus = new FakeBus { Refuse = (u, h) => u.Query.Contains("partition=") ? null : new SocketUpgradeException(null, null, "Unable to connect"), OnFrame = FakeBus.Server(false, 2) };
            var http = new FakeHttp(r => r.Method == HttpMethod.Get && r.RequestUri.AbsolutePath == "/v1/topics/t/partitions" ? (200, "{\"topic\":\"t\",\"partitions\":2}") : (404, ""));
            var conn = Fake(bus, http);
            var sub = conn.Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c", MaxInFlight = 1 }, m => Task.CompletedTask);
            await Check.Within(sub.Start(), "start on 2 partitions");
            Check.Equal("0,1", string.Join(",", bus.All.Select(s => s.Partition).OrderBy(p => p)));
            Check.Equal("1,1", string.Join(",", bus.All.Select(s => (int)s.Frames("hello")[0]["max_in_flight"])));
            Check.True(http.Requests.Any(r => r.Headers.Authorization != null && r.Headers.Authorization.Scheme == "Basic"), "the probe carries the credentials");
            await sub.Stop();
        }

        [Test]
        public static async Task RefusedUpgradesAreTypedErrors()
        {
            var refused = new FakeBus { Refuse = (u, h) => new SocketUpgradeException(null, null, "refused") };
            foreach (var pair in new[] { (401, typeof(UnauthorizedException)), (403, typeof(ForbiddenException)) })
            {
                var (status, expected) = pair;
                var http = new FakeHttp(r => (status, "{\"error\":{\"code\":\"" + (status == 401 ? "unauthorized" : "forbidden") + "\",\"message\":\"no\"}}"));
                var sub = Fake(refused, http).Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c" }, m => Task.CompletedTask);
                var e = await Check.Throws<IsmldException>(() => Check.Within(sub.Start(), "a refusal"), "start");
                Check.Equal(expected, e.GetType());
                Check.Equal(status, e.Status);
                Check.Equal(SubscriberState.Stopped, sub.State);
            }
            var known = new FakeBus { Refuse = (u, h) => new SocketUpgradeException(403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"no subscribe on t\"}}", "403") };
            var s2 = Fake(known).Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c" }, m => Task.CompletedTask);
            var f = await Check.Throws<ForbiddenException>(() => Check.Within(s2.Start(), "a known refusal"), "start");
            Check.Equal("no subscribe on t", f.Message);
        }

        [Test]
        public static async Task AnInconclusiveRefusalIsRetriedWithCredentialsInHelloOnly()
        {
            // A bus that refuses the upgrade for the header's credentials while its HTTP API
            // answers them (a client that may publish, not subscribe): the hello says why.
            var bus = new FakeBus
            {
                Refuse = (u, h) => h.ContainsKey("Authorization") ? new SocketUpgradeException(null, null, "refused") : null,
                OnFrame = (s, f) => { if ((string)f["op"] == "hello") s.CloseFromServer(4003, "no subscribe permission on t"); },
            };
            var http = new FakeHttp(r => (200, "{\"topic\":\"t\",\"seq\":3,\"channels\":[]}"));
            var sub = Fake(bus, http).Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c" }, m => Task.CompletedTask);
            var e = await Check.Throws<ForbiddenException>(() => Check.Within(sub.Start(), "the refusal"), "start");
            Check.Equal("no subscribe permission on t", e.Message);
            var s1 = await bus.Opened.Next(null, 5, "the headerless socket");
            Check.True(!s1.Headers.ContainsKey("Authorization"), "no header the second time");
            Check.Equal("foo", (string)s1.Frames("hello")[0]["login"], "credentials in hello");
        }

        [Test]
        public static async Task CancellingStartStopsTheSubscriber()
        {
            var bus = new FakeBus { OnFrame = (s, f) => { } }; // never welcomes
            var sub = Fake(bus).Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c" }, m => Task.CompletedTask);
            using (var cts = new CancellationTokenSource())
            {
                var start = sub.Start(cts.Token);
                await bus.Opened.Next(null, 5, "a socket");
                cts.Cancel();
                await Check.Throws<OperationCanceledException>(() => Check.Within(start, "the cancelled start"), "start");
            }
            await Check.Within(DriverTests.WaitFor(() => sub.State == SubscriberState.Stopped), "stopped");
        }

        [Test]
        public static async Task ReconnectsAfterALostSocketAndTheMessageComesBack()
        {
            var bus = new FakeBus { OnFrame = FakeBus.Server(false) };
            var conn = Fake(bus);
            var disconnected = new Inbox<IsmlEventArgs>();
            conn.Disconnected += (o, ev) => disconnected.Add(ev);
            var first = new TaskCompletionSource<bool>();
            var attempts = new Inbox<int>();
            var sub = conn.Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c" }, async m =>
            {
                attempts.Add(m.Attempt);
                if (m.Attempt == 1)
                {
                    await Task.Delay(Timeout.Infinite, m.CancellationToken).ContinueWith(_ => { });
                    first.TrySetResult(m.CancellationToken.IsCancellationRequested);
                    await m.Finish();
                }
            });
            await Check.Within(sub.Start(), "start");
            var s1 = await bus.Opened.Next(null, 5, "the first socket");
            s1.Push(FakeBus.Msg("m1", 1));
            Check.Equal(1, await attempts.Next(null, 5, "the first delivery"));
            s1.CloseFromServer(1006, "runtime restarted");
            Check.True(await Check.Within(first.Task, "the token cancelled by the close"), "cancelled on disconnect");
            var e = await disconnected.Next(null, 5, "a disconnected event");
            Check.Equal(1006, e.Code);
            var s2 = await bus.Opened.Next(null, 5, "a new socket");
            await s2.Sent.Next(f => (string)f["op"] == "hello", 5, "hello again");
            s2.Push(FakeBus.Msg("m1", 1, 0, 2));
            Check.Equal(2, await attempts.Next(null, 5, "the redelivery"));
            await Check.Within(WaitFor(() => Settled(s2, "fin").Contains("m1")), "fin on the new socket");
            Check.Equal(0, s1.Frames("fin").Count, "nothing settled on the lost socket");
            await sub.Stop();
        }

        [Test]
        public static async Task AThrowingHandlerBacksOffBeforeItRequeues()
        {
            var bus = new FakeBus { OnFrame = FakeBus.Server(false) };
            var sub = Fake(bus).Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c", MaxInFlight = 5 }, m => throw new InvalidOperationException("boom"));
            await Check.Within(sub.Start(), "start");
            var s = await bus.Opened.Next(null, 5, "a socket");
            s.Push(FakeBus.Msg("m1", 1));
            await s.Sent.Next(f => (string)f["op"] == "req", 5, "the requeue");
            var log = s.Frames("rdy").Concat(s.Frames("req")).ToList();
            var all = s.Log.ToList();
            var rdy0 = all.FindIndex(f => (string)f["op"] == "rdy" && (int)f["count"] == 0);
            Check.True(rdy0 >= 0 && rdy0 < all.FindIndex(f => (string)f["op"] == "req"), "rdy 0 before the req");
            var back = await s.Sent.Next(f => (string)f["op"] == "rdy" && (int)f["count"] == 5, 5, "credit back after the backoff");
            Check.True(back != null, "rdy 5");
            await sub.Stop();
        }

        [Test]
        public static async Task PingsAtTheHeartbeatInterval()
        {
            var bus = new FakeBus { OnFrame = FakeBus.Server(false, null, 1000) };
            var sub = Fake(bus, null, o => o.HeartbeatInterval = TimeSpan.FromSeconds(5)).Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c" }, m => Task.CompletedTask);
            await Check.Within(sub.Start(), "start");
            var s = await bus.Opened.Next(null, 5, "a socket");
            Check.Equal(5000L, (long)s.Frames("hello")[0]["heartbeat_ms"]);
            await s.Sent.Next(f => (string)f["op"] == "ping", 5, "a ping at the server's 1 s interval");
            await sub.Stop();
        }

        [Test]
        public static async Task TokenProviderIsCalledAtEveryConnect()
        {
            var calls = 0;
            var bus = new FakeBus { OnFrame = FakeBus.Server(false) };
            var conn = Fake(bus, null, o => { o.ClientCredentials = null; o.TokenProvider = ct => Task.FromResult("tok-" + Interlocked.Increment(ref calls)); });
            var sub = conn.Subscribe(new SubscriptionOptions { Topic = "t", Channel = "c" }, m => Task.CompletedTask);
            await Check.Within(sub.Start(), "start");
            var s1 = await bus.Opened.Next(null, 5, "a socket");
            Check.Equal("Bearer tok-1", s1.Headers["Authorization"]);
            Check.Equal("tok-1", (string)s1.Frames("hello")[0]["token"]);
            s1.CloseFromServer(4001, "token expired");
            var s2 = await bus.Opened.Next(null, 5, "a retry with a fresh token");
            Check.Equal("Bearer tok-2", s2.Headers["Authorization"]);
            await sub.Stop();
        }

        [Test]
        public static async Task PublishAnswersCarryThePartition()
        {
            var http = new FakeHttp(r => r.RequestUri.AbsolutePath.EndsWith("/events")
                ? (r.Content.Headers.ContentType.MediaType == "application/cloudevents-batch+json"
                    ? (507, "{\"error\":{\"code\":\"storage_full\",\"message\":\"partition 1 is full\"},\"results\":[{\"id\":\"a\",\"seq\":4,\"partition\":0,\"duplicate\":false},{\"error\":{\"code\":\"storage_full\",\"message\":\"full\"}}]}")
                    : (201, "{\"topic\":\"t\",\"id\":\"p3:0007\",\"seq\":7,\"partition\":3,\"duplicate\":false}"))
                : (404, ""));
            var conn = Fake(new FakeBus(), http);
            var meta = await conn.PublishAsync("t", new { n = 1 });
            Check.Equal("p3:0007", meta.MsgId, "ids are opaque strings");
            Check.Equal(3, meta.Partition);
            Check.Equal(7L, meta.Seq);
            var e = await Check.Throws<LimitException>(() => conn.PublishBatchAsync("t", new[] { new BatchItem(1), new BatchItem(2) }), "a partly refused batch");
            Check.Equal(507, e.Status);
        }

        internal static async Task WaitFor(Func<bool> condition)
        {
            while (!condition()) await Task.Delay(10).ConfigureAwait(false);
        }
    }
}
