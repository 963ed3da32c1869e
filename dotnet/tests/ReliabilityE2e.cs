using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Ismld.Tests
{
    /// <summary>A runtime restart under a subscriber: it reconnects, and nothing acknowledged is lost.</summary>
    internal static class ReliabilityE2e
    {
        [Test(E2e = true)]
        public static async Task ReconnectAfterARuntimeRestartWithNoLoss()
        {
            var topic = Env.Unique("cs-restart");
            using (var conn = Env.Admin())
            {
                var disconnected = new Inbox<IsmlEventArgs>();
                var connected = new Inbox<IsmlEventArgs>();
                conn.Disconnected += (o, e) => disconnected.Add(e);
                conn.Connected += (o, e) => connected.Add(e);
                var finished = new Inbox<int>();
                var holding = new Inbox<int>();
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "c", MaxInFlight = 5 }, async m =>
                {
                    var n = m.Payload.CastTo<int>();
                    if (n == 5 && m.Attempt == 1)
                    {
                        // In flight when the runtime goes down: the lost connection cancels the token.
                        holding.Add(n);
                        await Task.Delay(Timeout.Infinite, m.CancellationToken).ContinueWith(_ => { });
                        return;
                    }
                    await m.Finish();
                    finished.Add(n);
                });
                await sub.Start();
                await connected.Next(null, 5, "connected");
                for (var i = 1; i <= 5; i++) await conn.PublishAsync(topic, i);
                var before = new List<int>();
                for (var i = 0; i < 4; i++) before.Add(await finished.Next(null, 20, "events before the restart"));
                await holding.Next(null, 20, "event 5 in flight");
                var answer = await Env.Ask("restart");
                Check.Equal("restarted", answer);
                var lost = await disconnected.Next(null, 30, "the disconnect");
                Check.True(lost.Code != 1000, $"an abnormal close ({lost.Code})");
                await connected.Next(null, 60, "the reconnect");
                for (var i = 6; i <= 10; i++) await conn.PublishAsync(topic, i);
                // At least once: a fin the stopped runtime had not made durable may bring one of
                // 1..4 back as well, so wait for 5..10 rather than for six finishes.
                var after = new List<int>();
                while (!new[] { 5, 6, 7, 8, 9, 10 }.All(after.Contains)) after.Add(await finished.Next(null, 30, "events after the restart"));
                var all = before.Concat(after).OrderBy(x => x).ToList();
                Check.Equal("1,2,3,4,5,6,7,8,9,10", string.Join(",", all.Distinct()), "every event finished, event 5 redelivered");
                Check.Equal(SubscriberState.Connected, sub.State);
                await sub.Stop();
            }
        }
    }
}
