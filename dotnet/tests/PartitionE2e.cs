using System;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>
    /// Partitioned topics (docs/PROTOCOL.md, "Partitioned topics"): skipped on a bus that has none.
    /// </summary>
    internal static class PartitionE2e
    {
        [Test(E2e = true)]
        public static async Task OneSocketPerPartitionOfAPartitionedTopic()
        {
            var topic = Env.Unique("cs-parts");
            var (status, body) = await Env.Call(HttpMethod.Put, "/v1/topics/" + Uri.EscapeDataString(topic), new JObject { ["partitions"] = 3 });
            if (status != 200 && status != 201) throw new SkipException($"the bus makes no partitioned topics (PUT /v1/topics/{{topic}} answered {status})");
            using (var conn = Env.Admin())
            {
                var (sub, inbox) = await PublishE2e.Listen(conn, topic, "c", 6);
                Check.Equal(3, sub.Partitions);
                var metas = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => conn.PublishAsync(topic, i, new PublishOptions { OrderingKey = "key-" + i })));
                var got = Enumerable.Range(0, 12).Select(_ => inbox.Next(null, 20, "partitioned events")).ToList();
                var messages = await Task.WhenAll(got);
                Check.Equal(string.Join(",", metas.Select(m => m.Partition).OrderBy(p => p)), string.Join(",", messages.Select(m => m.Partition).OrderBy(p => p)), "each message says its partition");
                Check.True(messages.Select(m => m.Partition).Distinct().Count() > 1, "keys spread over partitions");
                await sub.Stop();
            }
        }
    }
}
