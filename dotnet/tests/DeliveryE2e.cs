using System;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>Delivery rules against the Worker: checkpoints, shelve, requeue, dead letters, deadlines, backoff.</summary>
    internal static class DeliveryE2e
    {
        private static Task Put(string topic, string channel) =>
            Env.Call(HttpMethod.Put, $"/v1/topics/{Uri.EscapeDataString(topic)}/channels/{Uri.EscapeDataString(channel)}", new JObject());

        [Test(E2e = true)]
        public static async Task CheckpointIsRestoredAfterAConsumerIsKilledMidHandler()
        {
            var topic = Env.Unique("cs-kill");
            var creds = await Env.Client(Env.Unique("victim"));
            await Put(topic, "work");
            using (var conn = Env.Connect(creds))
            {
                await conn.PublishAsync(topic, new Ping { Message = "resume me" });
                var start = Env.Self($"--victim {topic} work {creds.Login} {creds.Secret}");
                start.UseShellExecute = false;
                start.RedirectStandardOutput = true;
                start.RedirectStandardInput = true;
                var said = new Inbox<string>();
                using (var child = Process.Start(start))
                {
                    child.OutputDataReceived += (o, e) => { if (e.Data != null) said.Add(e.Data); };
                    child.BeginOutputReadLine();
                    await said.Next(l => l.StartsWith("acknowledged"), 30, "the victim's two checkpoints");
                    child.Kill();
                    child.WaitForExit();
                }
                var inbox = new Inbox<IsmlMessage>();
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "work" }, async m =>
                {
                    var progress = m.Checkpoint.CastTo<Progress>() ?? new Progress();
                    inbox.Add(m);
                    progress.Counter += 1;
                    await m.Finish(progress);
                });
                await sub.Start();
                var again = await inbox.Next(null, 30, "the redelivery");
                Check.Equal(2, again.Checkpoint.CastTo<Progress>().Counter, "resumed from the last checkpoint");
                Check.Equal(2, again.Attempt);
                Check.Equal("resume me", again.Payload.CastTo<Ping>().Message);
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task ShelveGivesTheMessageBackWithItsStateNotAsAFailure()
        {
            var topic = Env.Unique("cs-shelve");
            using (var conn = Env.Admin())
            {
                var inbox = new Inbox<IsmlMessage>();
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "c" }, async m =>
                {
                    inbox.Add(m);
                    if (m.Attempt == 1) await m.Shelve(new Progress { Counter = 5 }, TimeSpan.FromMilliseconds(300));
                });
                await sub.Start();
                await conn.PublishAsync(topic, 1);
                var first = await inbox.Next(null, 20, "the first delivery");
                Check.True(first.Checkpoint.IsNull, "no checkpoint at first");
                Check.Equal(null, first.Checkpoint.CastTo<Progress>());
                var second = await inbox.Next(null, 20, "the shelved message back");
                Check.Equal(5, second.Checkpoint.CastTo<Progress>().Counter);
                Check.Equal(0, second.Failures, "a shelve is not a failure");
                Check.Equal(2, second.Attempt);
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task RequeueWithADelay()
        {
            var topic = Env.Unique("cs-req");
            using (var conn = Env.Admin())
            {
                var inbox = new Inbox<(IsmlMessage, DateTimeOffset)>();
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "c" }, async m =>
                {
                    inbox.Add((m, DateTimeOffset.UtcNow));
                    if (m.Attempt == 1) await m.Requeue(TimeSpan.FromMilliseconds(800));
                });
                await sub.Start();
                await conn.PublishAsync(topic, 1);
                var (first, at1) = await inbox.Next(null, 20, "the first delivery");
                var (second, at2) = await inbox.Next(null, 20, "the requeued message");
                Check.Equal(first.Id, second.Id);
                Check.Equal(1, second.Failures, "a requeue is a failure");
                Check.True(at2 - at1 >= TimeSpan.FromMilliseconds(700), $"not before the delay ({(at2 - at1).TotalMilliseconds} ms)");
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task MaxAttemptsSendsAFailingMessageToDeadLetters()
        {
            var topic = Env.Unique("cs-dead");
            using (var conn = Env.Admin("", o => o.MaxAttempts = 2))
            {
                var calls = new Inbox<int>();
                var errors = new Inbox<Exception>();
                conn.Error += (o, e) => errors.Add(e.Error);
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "c" }, m =>
                {
                    calls.Add(m.Attempt);
                    throw new InvalidOperationException("cannot handle " + m.Id);
                });
                await sub.Start();
                await conn.PublishAsync(topic, new Ping { Message = "poison" });
                Check.Equal(1, await calls.Next(null, 20, "attempt 1"));
                Check.Equal(2, await calls.Next(null, 20, "attempt 2, after the backoff"));
                Check.True((await errors.Next(null, 20, "the handler's error")) is InvalidOperationException, "handler errors are reported");
                JArray dead = null;
                await Env.Eventually(async () =>
                {
                    // (Not `var (status, body) = await ...`: Mono's mcs 6.8 then compiles the
                    // enclosing async method to a no-op; deconstruct outside async lambdas.)
                    var answer = await Env.Call(HttpMethod.Get, $"/v1/topics/{Uri.EscapeDataString(topic)}/channels/c/dead");
                    dead = (JArray)answer.Body["messages"];
                    return dead.Count > 0;
                }, "a dead letter");
                Check.Equal(1, dead.Count, "one dead letter");
                Check.Equal(2, (int)dead[0]["failures"]);
                Check.Equal("poison", (string)dead[0]["event"]["data"]["message"]);
                Check.Equal(0, calls.Count, "no third attempt");
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task TheTokenIsCancelledAtTheHandlerTimeout()
        {
            var topic = Env.Unique("cs-deadline");
            using (var conn = Env.Admin())
            {
                var outcomes = new Inbox<(int Attempt, TimeSpan Waited, bool Cancelled)>();
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "c", HandlerTimeout = TimeSpan.FromSeconds(1) }, async m =>
                {
                    var started = DateTimeOffset.UtcNow;
                    if (m.Attempt == 1)
                    {
                        await Task.Delay(Timeout.Infinite, m.CancellationToken).ContinueWith(_ => { });
                        outcomes.Add((m.Attempt, DateTimeOffset.UtcNow - started, m.CancellationToken.IsCancellationRequested));
                        return;
                    }
                    outcomes.Add((m.Attempt, TimeSpan.Zero, m.CancellationToken.IsCancellationRequested));
                });
                await sub.Start();
                await conn.PublishAsync(topic, 1);
                var first = await outcomes.Next(null, 20, "the first attempt's cancellation");
                Check.True(first.Cancelled, "cancelled");
                Check.True(first.Waited >= TimeSpan.FromMilliseconds(800) && first.Waited < TimeSpan.FromSeconds(10), $"at the deadline ({first.Waited.TotalMilliseconds} ms)");
                var second = await outcomes.Next(null, 20, "the redelivery after the timeout");
                Check.Equal(2, second.Attempt);
                Check.Equal(false, second.Cancelled);
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task AckKeepsTheMessageAndSavesProgress()
        {
            var topic = Env.Unique("cs-ack");
            using (var conn = Env.Admin())
            {
                var done = new Inbox<(int, DateTimeOffset, DateTimeOffset)>();
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "c", HandlerTimeout = TimeSpan.FromSeconds(30) }, async m =>
                {
                    var progress = m.Checkpoint.CastTo<Progress>() ?? new Progress();
                    var deadline0 = m.Deadline;
                    while (progress.Counter < 3)
                    {
                        progress.Counter += 1;
                        await m.Acknowledge(progress);
                    }
                    await m.Finish(progress);
                    done.Add((m.Checkpoint.CastTo<Progress>().Counter, deadline0, m.Deadline));
                });
                await sub.Start();
                await conn.PublishAsync(topic, 1);
                var (counter, before, after) = await done.Next(null, 20, "the handler");
                Check.Equal(3, counter);
                Check.True(after >= before, "acknowledge moves the deadline");
                JObject stats = null;
                await Env.Eventually(async () => (long?)(stats = await Env.ChannelStats(topic, "c"))?["finished_total"] >= 1, "the fin in the stats");
                Check.Equal(1L, (long)stats["finished_total"]);
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task ABurstOfFinsAllSettle()
        {
            // With a v1.1 bus (welcome "batch": true) these fins travel in ids frames.
            var topic = Env.Unique("cs-burst");
            using (var conn = Env.Admin())
            {
                var (sub, inbox) = await PublishE2e.Listen(conn, topic, "c", 50);
                await conn.PublishBatchAsync(topic, Enumerable.Range(0, 100).Select(i => new BatchItem(i)));
                for (var i = 0; i < 100; i++) await inbox.Next(null, 20, "burst messages");
                JObject stats = null;
                await Env.Eventually(async () => (long?)(stats = await Env.ChannelStats(topic, "c"))?["finished_total"] >= 100, "100 fins in the stats");
                Check.Equal(100L, (long)stats["finished_total"]);
                Check.Equal(0L, (long)stats["depth"]);
                Console.WriteLine("  (the bus " + (sub.BatchOffered ? "offered" : "did not offer") + " batched frames)");
                await sub.Stop();
            }
        }
    }
}
