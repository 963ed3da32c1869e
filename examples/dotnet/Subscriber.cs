// The seed's checkpointing subscriber: progress is saved with Acknowledge(); a message
// that comes back (timeout, crash, shelve) resumes from its last checkpoint.
//   ISMLD_TOKEN=... mono dotnet/bin/examples/Subscriber.exe      (Ctrl-C to stop)
using System;
using System.Threading;
using System.Threading.Tasks;
using Ismld;

static class Subscriber
{
    static int Main() => Run().GetAwaiter().GetResult();

    static async Task<int> Run()
    {
        var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (o, e) => { e.Cancel = true; stop.Cancel(); };
        var exitAfter = int.Parse(Environment.GetEnvironmentVariable("ISMLD_EXIT_AFTER") ?? "0"); // for the tests: stop after N messages
        var handled = 0;
        var connection = new IsmlConnection(new IsmlConnectionOptions
        {
            Url = Config.Url,
            ClientCredentials = Config.Credentials("example-subscriber"),
            NamePrefix = "[DEV]",
            HeartbeatInterval = TimeSpan.FromSeconds(30),
            BackoffDuration = TimeSpan.FromSeconds(5),
            MaxAttempts = 3,
        }, stop.Token);
        connection.Disconnected += (o, e) => Console.WriteLine($"disconnected ({e.Code}); reconnecting in {e.ReconnectIn.TotalMilliseconds} ms");
        connection.Error += (o, e) => Console.Error.WriteLine("error: " + e.Error.Message);

        var subscriber = connection.Subscribe(new SubscriptionOptions
        {
            Topic = "OnPingSent",
            Channel = "OnPingReceivedHandler",
            HandlerTimeout = TimeSpan.FromMinutes(1),
            MaxInFlight = 3,
        }, async message =>
        {
            var payload = message.Payload.CastTo<OnPingSentMessage>();
            var progress = message.Checkpoint.CastTo<HandlerProgressData>() ?? new HandlerProgressData();
            while (progress.Counter < 3)
            {
                if (message.CancellationToken.IsCancellationRequested)
                {
                    await message.Shelve(progress); // timeout or connection loss: give it back with our state
                    return;
                }
                await Task.Delay(100);              // the work
                progress.Counter += 1;
                await message.Acknowledge(progress); // touch + save the checkpoint
            }
            await message.Finish(progress);
            Console.WriteLine($"handled seq {message.Seq} (attempt {message.Attempt}): {payload.Message}");
            if (exitAfter > 0 && Interlocked.Increment(ref handled) >= exitAfter) stop.Cancel();
        });
        await subscriber.Start();
        Console.WriteLine("subscribed as " + subscriber.Id + " " + subscriber.FullChannelName);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await connection.CloseAsync();
        return 0;
    }
}
