using System;
using System.Threading;
using System.Threading.Tasks;

namespace Ismld.Tests
{
    /// <summary>
    /// The child process of the checkpoint test: subscribes, saves two checkpoints of the
    /// first message, prints "acknowledged 2" and hangs in the handler until it is killed.
    /// Arguments: topic, channel, login, secret.
    /// </summary>
    internal static class Victim
    {
        public static int Run(string[] args)
        {
            var (topic, channel) = (args[0], args[1]);
            var conn = Env.Connect(new ClientCredentials { Login = args[2], Secret = args[3] });
            var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = channel, HandlerTimeout = TimeSpan.FromMinutes(1) }, async m =>
            {
                var progress = m.Checkpoint.CastTo<Progress>() ?? new Progress();
                while (progress.Counter < 2)
                {
                    progress.Counter += 1;
                    await m.Acknowledge(progress);
                }
                Console.WriteLine("acknowledged " + progress.Counter);
                Console.Out.Flush();
                await Task.Delay(Timeout.Infinite);
            });
            sub.Start().GetAwaiter().GetResult();
            Console.WriteLine("subscribed");
            Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite);
            return 0;
        }
    }

    /// <summary>A handler's progress, saved as its checkpoint.</summary>
    internal sealed class Progress
    {
        public int Counter { get; set; }
    }
}
