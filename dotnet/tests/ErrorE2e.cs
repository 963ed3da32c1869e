using System;
using System.Net.Http;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>Bad credentials and missing permissions raise typed exceptions, over HTTP and on sockets; tokens work.</summary>
    internal static class ErrorE2e
    {
        [Test(E2e = true)]
        public static async Task BadCredentialsAreUnauthorized()
        {
            var topic = Env.Unique("cs-auth");
            using (var conn = Env.Connect(new ClientCredentials { Login = "nobody-" + topic, Secret = "wrong" }))
            {
                var p = await Check.Throws<UnauthorizedException>(() => conn.PublishAsync(topic, 1), "publish with bad credentials");
                Check.Equal(401, p.Status);
                Check.Equal("unauthorized", p.Code);
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "c" }, m => Task.CompletedTask);
                var s = await Check.Throws<UnauthorizedException>(() => Check.Within(sub.Start(), "the refusal"), "subscribe with bad credentials");
                Check.Equal(401, s.Status);
                Check.Equal(SubscriberState.Stopped, sub.State);
                await Check.Throws<UnauthorizedException>(() => conn.RequestAsync<int>(topic, 1, TimeSpan.FromSeconds(2)), "request with bad credentials");
            }
        }

        [Test(E2e = true)]
        public static async Task MissingPermissionsAreForbidden()
        {
            var topic = Env.Unique("cs-perm");
            var creds = await Env.Client(Env.Unique("narrow"), new[] { "other.*" }, new[] { "other.*" });
            using (var conn = Env.Connect(creds))
            {
                var p = await Check.Throws<ForbiddenException>(() => conn.PublishAsync(topic, 1), "publish without permission");
                Check.Equal(403, p.Status);
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = topic, Channel = "c" }, m => Task.CompletedTask);
                var s = await Check.Throws<ForbiddenException>(() => Check.Within(sub.Start(), "the refusal"), "subscribe without permission");
                Check.Equal("forbidden", s.Code);
                var ok = await conn.PublishAsync("other.x-" + topic, 1);
                Check.Equal(1L, ok.Seq, "allowed where the patterns say");
            }
        }

        [Test(E2e = true)]
        public static async Task InvalidNamesAndSettingsAreInvalidRequests()
        {
            using (var conn = Env.Admin())
            {
                var n = await Check.Throws<InvalidRequestException>(() => conn.PublishAsync("bad name", 1), "a bad topic name");
                Check.Equal("invalid_name", n.Code);
                var sub = conn.Subscribe(new SubscriptionOptions { Topic = Env.Unique("cs-settings"), Channel = "c", HandlerTimeout = TimeSpan.FromMilliseconds(10) }, m => Task.CompletedTask);
                await Check.Throws<InvalidRequestException>(() => Check.Within(sub.Start(), "the refused hello"), "a handler timeout under 1 s");
            }
        }

        [Test(E2e = true)]
        public static async Task TokensAndTokenProviders()
        {
            var topic = Env.Unique("cs-token");
            var creds = await Env.Client(Env.Unique("tokens"));
            using (var http = new HttpClient())
            {
                var req = new HttpRequestMessage(HttpMethod.Post, Env.Url + "/v1/tokens") { Content = new StringContent("{\"ttl_s\":600}") };
                req.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(creds.Login + ":" + creds.Secret)));
                var res = await http.SendAsync(req);
                var token = (string)JObject.Parse(await res.Content.ReadAsStringAsync())["token"];
                using (var conn = Env.Connect(new ClientCredentials { Token = token, ClientId = "cs-tests" }))
                {
                    var (sub, inbox) = await PublishE2e.Listen(conn, topic);
                    await conn.PublishAsync(topic, "by token");
                    Check.Equal("by token", (await inbox.Next(null, 20, "the event")).Payload.CastTo<string>());
                    await sub.Stop();
                }
                var calls = 0;
                using (var conn = Env.Connect(null, "", o => o.TokenProvider = ct => { System.Threading.Interlocked.Increment(ref calls); return Task.FromResult(token); }))
                {
                    var (sub, inbox) = await PublishE2e.Listen(conn, topic, "c2");
                    await conn.PublishAsync(topic, "by provider");
                    Check.Equal("by provider", (await inbox.Next(null, 20, "the event")).Payload.CastTo<string>());
                    Check.True(calls >= 2, "the provider gave the socket's and the publish's token");
                    await sub.Stop();
                }
            }
        }
    }
}
