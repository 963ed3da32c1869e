// The seed's own example (the C# API the project was founded with), compiled exactly as
// the seed wrote it: the block between the markers is the README's ".NET client" example,
// verbatim (the tests check it). The seed assumes a client "foo" with its secret, a bus at
// 127.0.0.1:8787, and a responder on rpc.add; this program adds those around it.
//   ISMLD_SECRET=<foo's secret> mono dotnet/bin/examples/Seed.exe
using System;
using System.Threading;
using System.Threading.Tasks;
using Ismld;
using Newtonsoft.Json.Linq;

static class Seed
{
    static int Main() => Run().GetAwaiter().GetResult();

    static async Task<int> Run()
    {
        var secret = Environment.GetEnvironmentVariable("ISMLD_SECRET") ?? "";
        using (var stop = new CancellationTokenSource())
        {
            var cancellationToken = stop.Token;
            // Not the seed's: an adder for the request at the end.
            var adders = new IsmlConnection(new IsmlConnectionOptions { Host = "127.0.0.1:8787", NamePrefix = "[DEV]",
                ClientCredentials = new ClientCredentials { Login = "foo", Secret = secret } });
            await adders.Subscribe(new SubscriptionOptions { Topic = "rpc.add", Channel = "adders" }, m =>
                m.Respond(new Sum { Value = (int)m.Payload.CastTo<JObject>()["a"] + (int)m.Payload.CastTo<JObject>()["b"] })).Start();

            // ---- the seed's example, verbatim ----
            var connection = new IsmlConnection(new IsmlConnectionOptions {
                Host = "127.0.0.1:8787",                  // or a full http(s):// URL
                ClientCredentials = new ClientCredentials { Login = "foo", Secret = secret, ClientId = "optional" },
                NamePrefix = "[DEV]", HeartbeatInterval = TimeSpan.FromSeconds(30),
                BackoffDuration = TimeSpan.FromSeconds(5), MaxAttempts = 3,
            }, cancellationToken);
            var metadata = await connection.PublishAsync("OnPingSent", new OnPingSentMessage { Message = "Hello" });
            Console.WriteLine(metadata.MsgId);           // also Seq, Partition, Duplicate
            var subscriber = connection.Subscribe(new SubscriptionOptions {
                Topic = "OnPingSent", Channel = "OnPingReceivedHandler",
                HandlerTimeout = TimeSpan.FromMinutes(1), MaxInFlight = 3 },
              async message => {
                var payload = message.Payload.CastTo<OnPingSentMessage>();
                var progress = message.Checkpoint.CastTo<HandlerProgressData>() ?? new HandlerProgressData();
                if (message.CancellationToken.IsCancellationRequested) { await message.Shelve(progress); return; }
                await message.Acknowledge(progress);      // touch + checkpoint
                await message.Finish(progress);
              });
            Console.WriteLine(subscriber.Id + " " + subscriber.FullChannelName);
            await subscriber.Start();
            var reply = await connection.RequestAsync<Sum>("rpc.add", new { a = 1, b = 2 }, TimeSpan.FromSeconds(5));
            // ---- end of the seed's example ----

            Console.WriteLine("1 + 2 = " + reply.Value);
            // The handler finishes the published message: wait until the bus says so.
            for (var i = 0; i < 400; i++)
            {
                var stats = await connection.StatsAsync("OnPingSent");
                foreach (var c in (JArray)stats["channels"])
                {
                    if ((string)c["channel"] == "[DEV]OnPingReceivedHandler" && (long)c["finished_total"] >= 1)
                    {
                        Console.WriteLine("handled " + metadata.MsgId);
                        await connection.CloseAsync();
                        await adders.CloseAsync();
                        return 0;
                    }
                }
                await Task.Delay(25);
            }
            Console.WriteLine("the message was not handled");
            return 1;
        }
    }
}
