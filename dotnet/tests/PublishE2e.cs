using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>A message of the tests.</summary>
    internal sealed class Ping
    {
        public string Message { get; set; }
        public int Number { get; set; }
    }

    /// <summary>Publishing against the Worker: plain data, CloudEvents, batches, options.</summary>
    internal static class PublishE2e
    {
        /// <summary>A started subscriber on a fresh channel, with its deliveries in an inbox.</summary>
        internal static async Task<(Subscriber, Inbox<IsmlMessage>)> Listen(IsmlConnection conn, string topic, string channel = "c", int maxInFlight = 10)
        {
            var inbox = new Inbox<IsmlMessage>();
            var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = channel, MaxInFlight = maxInFlight }, m =>
            {
                inbox.Add(m);
                return Task.CompletedTask;
            });
            await Check.Within(sub.Start(), "the subscriber's welcome");
            return (sub, inbox);
        }

        [Test(E2e = true)]
        public static async Task PublishPlainDataTextAndBytes()
        {
            var topic = Env.Unique("cs-plain");
            using (var conn = Env.Admin("[CS]"))
            {
                var (sub, inbox) = await Listen(conn, topic);
                var meta = await conn.PublishAsync(topic, new Ping { Message = "Hello World", Number = 7 });
                Check.Equal("[CS]" + topic, meta.Topic);
                Check.True(!string.IsNullOrEmpty(meta.MsgId), "a message id");
                Check.Equal(1L, meta.Seq);
                Check.Equal(0, meta.Partition);
                Check.Equal(false, meta.Duplicate);
                var text = await conn.PublishAsync(topic, "plain text");
                var bytes = await conn.PublishAsync(topic, new byte[] { 0, 1, 2, 255 });
                Check.Equal(2L, text.Seq);
                Check.Equal(3L, bytes.Seq);
                var m1 = await inbox.Next(null, 20, "the JSON event");
                Check.Equal(meta.MsgId, m1.Id);
                Check.Equal("Hello World", m1.Payload.CastTo<Ping>().Message);
                Check.Equal(7, m1.Payload.CastTo<Ping>().Number);
                Check.Equal("Hello World", (string)m1.Event.Data["message"], "camelCase on the wire");
                Check.Equal("[CS]" + topic, m1.Event.Type, "the bus made the event: type = topic");
                var m2 = await inbox.Next(null, 20, "the text event");
                Check.Equal("plain text", m2.Payload.CastTo<string>());
                var m3 = await inbox.Next(null, 20, "the binary event");
                Check.Equal("0,1,2,255", string.Join(",", m3.Payload.Bytes));
                Check.Equal("0,1,2,255", string.Join(",", m3.Payload.CastTo<byte[]>()));
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task DataIsTheSameWithOrWithoutAnId()
        {
            var topic = Env.Unique("cs-data");
            using (var conn = Env.Admin())
            {
                var (sub, inbox) = await Listen(conn, topic);
                var json = new PublishOptions { ContentType = "application/json" };
                foreach (var id in new[] { null, "with-id" })
                {
                    var key = id;
                    Func<PublishOptions, PublishOptions> With = o => new PublishOptions { Id = key == null ? null : key + "-" + Guid.NewGuid(), ContentType = o == null ? null : o.ContentType };
                    await conn.PublishAsync(topic, new byte[] { 1, 2, 3 }, With(null));
                    await conn.PublishAsync(topic, "just text", With(null));
                    await conn.PublishAsync(topic, "{\"a\":1}", With(json));
                    var bin = await inbox.Next(null, 20, "bytes");
                    Check.Equal("1,2,3", string.Join(",", bin.Payload.Bytes), "bytes stay bytes (" + id + ")");
                    Check.Equal("application/octet-stream", bin.Event.DataContentType, "a binary content type (" + id + ")");
                    var text = await inbox.Next(null, 20, "text");
                    Check.Equal("just text", text.Payload.CastTo<string>(), "text stays text (" + id + ")");
                    Check.True(text.Event.DataContentType.StartsWith("text/plain"), "a text content type (" + id + ")");
                    var obj = await inbox.Next(null, 20, "JSON text");
                    Check.Equal(1, (int)obj.Event.Data["a"], "JSON text is its value (" + id + ")");
                }
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task PublishACloudEventIdempotently()
        {
            var topic = Env.Unique("cs-ce");
            using (var conn = Env.Admin())
            {
                var (sub, inbox) = await Listen(conn, topic);
                var e = new CloudEvent { Id = "order-1", Source = "/shop", Type = "order.created", Subject = "o/1", Time = "2026-11-22T10:00:00Z", DataContentType = "application/json", Data = JObject.Parse("{\"total\":12.5}") };
                e.OrderingKey = "user-1";
                e.Extensions["tenant"] = "acme";
                var first = await conn.PublishAsync(topic, e);
                var again = await conn.PublishAsync(topic, e);
                Check.Equal(false, first.Duplicate);
                Check.Equal(true, again.Duplicate, "same source and id: deduplicated");
                Check.Equal(first.Seq, again.Seq);
                var m = await inbox.Next(null, 20, "the CloudEvent");
                Check.Equal("order-1", m.Event.Id);
                Check.Equal("/shop", m.Event.Source);
                Check.Equal("order.created", m.Event.Type);
                Check.Equal("o/1", m.Event.Subject);
                Check.Equal("2026-11-22T10:00:00Z", m.Event.Time, "time kept as sent");
                Check.Equal("user-1", m.Event.OrderingKey);
                Check.Equal("acme", (string)m.Event.Extensions["tenant"]);
                Check.Equal(12.5, m.Payload.CastTo<JObject>().Value<double>("total"));
                var golden = CloudEvent.FromJson(Json.Parse(Env.Fixture("events/structured.json")));
                var fixture = await conn.PublishAsync(topic, golden);
                Check.Equal(true, fixture.Duplicate, "the golden event (tests/fixtures/events/structured.json) is the same (source, id)");
                Check.Equal(first.Seq, fixture.Seq);
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task PublishWithIdOrderingKeyAndDelay()
        {
            var topic = Env.Unique("cs-opts");
            using (var conn = Env.Admin())
            {
                var (sub, inbox) = await Listen(conn, topic);
                var a = await conn.PublishAsync(topic, new Ping { Number = 1 }, new PublishOptions { Id = "fixed-id", OrderingKey = "k", Type = "ping.sent", Subject = "s" });
                var b = await conn.PublishAsync(topic, new Ping { Number = 1 }, new PublishOptions { Id = "fixed-id" });
                Check.Equal(true, b.Duplicate, "an id makes the publish idempotent");
                var m = await inbox.Next(null, 20, "the event with an id");
                Check.Equal("fixed-id", m.Event.Id);
                Check.Equal("ping.sent", m.Event.Type);
                Check.Equal("/ismld-dotnet", m.Event.Source, "a token user's events come from /ismld-dotnet");
                Check.Equal("k", m.Event.OrderingKey);
                var sent = DateTimeOffset.UtcNow;
                await conn.PublishAsync(topic, "later", new PublishOptions { Delay = TimeSpan.FromMilliseconds(1200) });
                var late = await inbox.Next(null, 20, "the delayed event");
                var waited = DateTimeOffset.UtcNow - sent;
                Check.True(waited >= TimeSpan.FromMilliseconds(1000), $"delivered after the delay (waited {waited.TotalMilliseconds} ms)");
                Check.Equal("later", late.Payload.CastTo<string>());
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task PublishABatchAllOrNothingInOrder()
        {
            var topic = Env.Unique("cs-batch");
            using (var conn = Env.Admin())
            {
                var (sub, inbox) = await Listen(conn, topic);
                var metas = await conn.PublishBatchAsync(topic, Enumerable.Range(1, 5).Select(i => new BatchItem(new Ping { Number = i }) { OrderingKey = i % 2 == 0 ? "even" : null }));
                Check.Equal("1,2,3,4,5", string.Join(",", metas.Select(x => x.Seq)));
                var events = new[] { new CloudEvent { Id = "b1", Source = "/cs", Type = "t", Data = 6 }, new CloudEvent { Id = "b2", Source = "/cs", Type = "t", Data = 7 } };
                var more = conn.PublishBatch(topic, events);
                Check.Equal("6,7", string.Join(",", more.Select(x => x.Seq)));
                var retried = await conn.PublishBatchAsync(topic, events);
                Check.True(retried.All(x => x.Duplicate), "a retried batch is deduplicated");
                var seen = new System.Collections.Generic.List<long>();
                for (var i = 0; i < 7; i++) seen.Add((await inbox.Next(null, 20, "batch events")).Seq);
                Check.Equal("1,2,3,4,5,6,7", string.Join(",", seen.OrderBy(x => x)));
                var bad = await Check.Throws<InvalidRequestException>(() => conn.PublishBatchAsync(topic, new[] { new CloudEvent { Id = "x", Source = "/cs", Type = "t" }, new CloudEvent { Id = "", Source = "", Type = "" } }), "a batch with a bad event");
                Check.Equal(400, bad.Status);
                await sub.Stop();
            }
        }

        [Test(E2e = true)]
        public static void SynchronousPublish()
        {
            var topic = Env.Unique("cs-sync");
            using (var conn = Env.Admin())
            {
                var meta = conn.Publish(topic, new Ping { Message = "sync" });
                Check.Equal(1L, meta.Seq);
                var e = conn.Publish(topic, new CloudEvent { Id = "s1", Source = "/cs", Type = "t", Data = "x" });
                Check.Equal(2L, e.Seq);
            }
        }
    }
}
