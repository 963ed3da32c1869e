using System;
using System.Threading.Tasks;

namespace Ismld.Tests
{
    /// <summary>A response of the tests.</summary>
    internal sealed class Sum
    {
        public int Value { get; set; }
    }

    /// <summary>Request-response against the Worker, with C# on both sides and with the JS client on the other.</summary>
    internal static class RequestE2e
    {
        [Test(E2e = true)]
        public static async Task RequestAndRespondInCSharp()
        {
            var topic = Env.Unique("cs-rpc");
            using (var conn = Env.Admin())
            {
                var responder = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "adders" }, async m =>
                {
                    Check.True(m.Reply, "a request is delivered with reply: true");
                    var args = m.Payload.CastTo<AddArgs>();
                    await m.Respond(new Sum { Value = args.A + args.B });
                });
                await responder.Start();
                var reply = await conn.RequestAsync<Sum>(topic, new { a = 1, b = 2 }, TimeSpan.FromSeconds(10));
                Check.Equal(3, reply.Value);
                var e = await conn.RequestEventAsync(topic, new { a = 20, b = 22 }, TimeSpan.FromSeconds(10));
                Check.Equal("test.event.response".Length > 0, true);
                Check.True(e.Type.EndsWith(".response"), "the response event's type ends in .response: " + e.Type);
                Check.Equal(42, (int)e.Data["value"]);
                await responder.Stop();
            }
        }

        [Test(E2e = true)]
        public static async Task ARequestWithoutAResponderTimesOut()
        {
            using (var conn = Env.Admin())
            {
                var e = await Check.Throws<IsmldTimeoutException>(() => conn.RequestAsync<Sum>(Env.Unique("cs-nobody"), new { a = 1 }, TimeSpan.FromSeconds(1)), "a request nobody answers");
                Check.Equal("timeout", e.Code);
                Check.Equal(504, e.Status);
            }
        }

        [Test(E2e = true)]
        public static async Task RequestToAJsResponder()
        {
            // The Node side runs a JS responder on rpc.js.add (examples of both clients talk).
            var ready = await Env.Ask("js-responder");
            Check.Equal("ready rpc.js.add", ready);
            using (var conn = Env.Admin())
            {
                var reply = await conn.RequestAsync<JsSum>("rpc.js.add", new { a = 2, b = 3 }, TimeSpan.FromSeconds(10));
                Check.Equal(5, reply.Sum);
            }
        }

        [Test(E2e = true)]
        public static async Task RespondToAJsRequester()
        {
            var topic = Env.Unique("cs-rpc-js");
            using (var conn = Env.Admin())
            {
                var responder = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "adders" }, m =>
                    m.Respond(new JsSum { Sum = m.Payload.CastTo<AddArgs>().A + m.Payload.CastTo<AddArgs>().B }));
                await responder.Start();
                var answer = await Env.Ask("js-request " + topic + " {\"a\":4,\"b\":5}");
                Check.Equal("reply {\"sum\":9}", answer);
                await responder.Stop();
            }
        }
    }

    internal sealed class AddArgs
    {
        public int A { get; set; }
        public int B { get; set; }
    }

    internal sealed class JsSum
    {
        public int Sum { get; set; }
    }
}
