// Publishes a few events: plain data (async and the seed's synchronous Publish), an
// idempotent one (with an id), a batch.
//   ISMLD_TOKEN=... mono dotnet/bin/examples/Publisher.exe
using System;
using System.Linq;
using System.Threading.Tasks;
using Ismld;

static class Publisher
{
    static void Main() => Run().GetAwaiter().GetResult();

    static async Task Run()
    {
        using (var connection = new IsmlConnection(new IsmlConnectionOptions { Url = Config.Url, ClientCredentials = Config.Credentials(), NamePrefix = "[DEV]" }))
        {
            var metadata = await connection.PublishAsync("OnPingSent", new OnPingSentMessage { Message = "Hello World" }, new PublishOptions { OrderingKey = "user-1" });
            Console.WriteLine($"published {metadata.MsgId} seq {metadata.Seq} partition {metadata.Partition}");

            var sync = connection.Publish("OnPingSent", new OnPingSentMessage { Message = "Hello again" });
            Console.WriteLine($"published synchronously seq {sync.Seq}");

            // With an id the publish is idempotent: sending it twice appends it once.
            var again = await connection.PublishAsync("OnPingSent", new OnPingSentMessage { Message = "once" }, new PublishOptions { Id = "ping-42" });
            var dup = await connection.PublishAsync("OnPingSent", new OnPingSentMessage { Message = "once" }, new PublishOptions { Id = "ping-42" });
            Console.WriteLine($"idempotent {again.Seq} {dup.Seq} duplicate: {dup.Duplicate.ToString().ToLowerInvariant()}");

            var batch = await connection.PublishBatchAsync("OnPingSent", new[]
            {
                new BatchItem(new OnPingSentMessage { Message = "one" }),
                new BatchItem(new OnPingSentMessage { Message = "two" }) { Delay = TimeSpan.FromSeconds(1) },
            });
            Console.WriteLine("batch seqs " + string.Join(", ", batch.Select(b => b.Seq)));
        }
    }
}
