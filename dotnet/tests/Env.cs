using System;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>
    /// The bus under test (ISMLD_URL, ISMLD_ADMIN_TOKEN), admin calls, unique names, the
    /// golden fixtures, and the restart handshake with the Node side (tests/e2e/dotnet.test.mjs).
    /// </summary>
    internal static class Env
    {
        public static readonly string Url = Environment.GetEnvironmentVariable("ISMLD_URL");
        public static readonly string AdminToken = Environment.GetEnvironmentVariable("ISMLD_ADMIN_TOKEN");
        private static readonly HttpClient Http = new HttpClient();
        private static int counter;

        /// <summary>A name unique to this run.</summary>
        public static string Unique(string prefix) =>
            $"{prefix}-{System.Diagnostics.Process.GetCurrentProcess().Id}-{DateTime.UtcNow.Ticks % 100000000:x}-{Interlocked.Increment(ref counter)}";

        /// <summary>The repository's root: the nearest directory above the runner with tests/fixtures.</summary>
        public static string Root
        {
            get
            {
                var dir = new DirectoryInfo(AppDomain.CurrentDomain.BaseDirectory);
                while (dir != null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "fixtures"))) dir = dir.Parent;
                if (dir == null) throw new Exception("no tests/fixtures above " + AppDomain.CurrentDomain.BaseDirectory);
                return dir.FullName;
            }
        }

        /// <summary>How to start this runner again as a child process (Mono: mono Ismld.Tests.exe; .NET: the apphost's dotnet).</summary>
        public static System.Diagnostics.ProcessStartInfo Self(string args)
        {
            var exe = typeof(Runner).Assembly.Location;
            var onMono = Type.GetType("Mono.Runtime") != null;
            var host = onMono ? "mono" : System.Diagnostics.Process.GetCurrentProcess().MainModule.FileName;
            var quoted = "\"" + exe + "\" " + args;
            return new System.Diagnostics.ProcessStartInfo(host, onMono || host.EndsWith("dotnet") ? quoted : args);
        }

        /// <summary>A golden fixture's text (tests/fixtures/...).</summary>
        public static string Fixture(string path) => File.ReadAllText(Path.Combine(Root, "tests", "fixtures", path)).Trim();

        /// <summary>A connection as the admin (the admin token is accepted as a bearer token everywhere).</summary>
        public static IsmlConnection Admin(string prefix = "", Action<IsmlConnectionOptions> configure = null) =>
            Connect(new ClientCredentials { Token = AdminToken }, prefix, configure);

        public static IsmlConnection Connect(ClientCredentials credentials, string prefix = "", Action<IsmlConnectionOptions> configure = null)
        {
            var o = new IsmlConnectionOptions
            {
                Url = Url,
                ClientCredentials = credentials,
                NamePrefix = prefix,
                BackoffDuration = TimeSpan.FromMilliseconds(200),
                ReconnectMin = TimeSpan.FromMilliseconds(100),
                ReconnectMax = TimeSpan.FromMilliseconds(1000),
            };
            configure?.Invoke(o);
            return new IsmlConnection(o);
        }

        /// <summary>An admin HTTP call; answers status and JSON.</summary>
        public static async Task<(int Status, JToken Body)> Call(HttpMethod method, string path, object body = null)
        {
            using (var req = new HttpRequestMessage(method, Url.TrimEnd('/') + path))
            {
                req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + AdminToken);
                if (body != null) req.Content = new StringContent(JToken.FromObject(body).ToString(), Encoding.UTF8, "application/json");
                using (var res = await Http.SendAsync(req).ConfigureAwait(false))
                {
                    var text = await res.Content.ReadAsStringAsync().ConfigureAwait(false);
                    return ((int)res.StatusCode, string.IsNullOrEmpty(text) ? null : JToken.Parse(text));
                }
            }
        }

        /// <summary>Makes a client with these permissions; answers its credentials.</summary>
        public static async Task<ClientCredentials> Client(string login, string[] publish = null, string[] subscribe = null)
        {
            var body = new JObject { ["login"] = login };
            if (publish != null) body["publish"] = new JArray(publish);
            if (subscribe != null) body["subscribe"] = new JArray(subscribe);
            var (status, answer) = await Call(HttpMethod.Post, "/v1/clients", body).ConfigureAwait(false);
            if (status != 201) throw new Exception($"POST /v1/clients answered {status}: {answer}");
            return new ClientCredentials { Login = login, Secret = (string)answer["secret"] };
        }

        /// <summary>A channel's stats (<c>GET /v1/topics/{topic}</c>), or null.</summary>
        public static async Task<JObject> ChannelStats(string topic, string channel)
        {
            var (status, body) = await Call(HttpMethod.Get, "/v1/topics/" + Uri.EscapeDataString(topic)).ConfigureAwait(false);
            if (status != 200) return null;
            foreach (var c in (JArray)body["channels"])
            {
                if ((string)c["channel"] == channel) return (JObject)c;
            }
            return null;
        }

        /// <summary>Polls a condition the bus reports only when asked (stats, dead letters) until it holds; fails after <paramref name="seconds"/>.</summary>
        public static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 20)
        {
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
            while (!await condition().ConfigureAwait(false))
            {
                if (DateTime.UtcNow > until) throw new Exception("timed out waiting for " + what);
                await Task.Delay(25).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// Asks the Node side (tests/e2e/dotnet.test.mjs) for something: prints
        /// "ISMLD-ASK {what}" and answers the line it writes back on stdin. It knows
        /// "restart" (the runtime, same storage and port) and "js-request {topic} {json}"
        /// (a request by the JS client). Without a Node side (ISMLD_ASK unset) the test is skipped.
        /// </summary>
        public static async Task<string> Ask(string what)
        {
            if (Environment.GetEnvironmentVariable("ISMLD_ASK") != "1") throw new SkipException("needs the Node side (ISMLD_ASK=1) for: " + what);
            Console.WriteLine("ISMLD-ASK " + what);
            Console.Out.Flush();
            var line = await Task.Run(() => Console.In.ReadLine()).ConfigureAwait(false);
            if (line == null) throw new Exception($"no answer to {what}");
            return line;
        }
    }
}
