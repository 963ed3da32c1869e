using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld.Tests
{
    /// <summary>
    /// A scripted bus for the client's sockets: decides each upgrade (<see cref="Refuse"/>),
    /// answers frames (<see cref="OnFrame"/>), and lets a test push frames and closes.
    /// </summary>
    internal sealed class FakeBus
    {
        public Func<Uri, IDictionary<string, string>, Exception> Refuse = (u, h) => null;
        public Action<FakeSocket, JObject> OnFrame = (s, f) => { };
        public readonly Inbox<FakeSocket> Opened = new Inbox<FakeSocket>();
        public readonly List<FakeSocket> All = new List<FakeSocket>();

        internal IWebSocket Create() => new FakeSocket(this);

        /// <summary>Answers hello with a welcome (partition and batch from the URL and <paramref name="batch"/>), ok to frames with a ref, pong to ping.</summary>
        public static Action<FakeSocket, JObject> Server(bool batch, int? partitions = null, long heartbeatMs = 30000) => (s, f) =>
        {
            var op = (string)f["op"];
            if (op == "hello")
            {
                var w = new JObject { ["op"] = "welcome", ["topic"] = "t", ["channel"] = "c", ["session"] = "s" + s.Number, ["max_in_flight"] = f["max_in_flight"], ["heartbeat_ms"] = heartbeatMs };
                if (batch) w["batch"] = true;
                if (s.Partition.HasValue) { w["partition"] = s.Partition; w["partitions"] = partitions; }
                s.Push(w);
            }
            else if (op == "ping") s.Push("{\"op\":\"pong\"}");
            else if (f["ref"] != null)
            {
                var ok = new JObject { ["op"] = "ok", ["ref"] = f["ref"] };
                if (f["ids"] is JArray ids) { ok["settled"] = ids.Count; ok["missing"] = new JArray(); }
                s.Push(ok);
            }
        };

        public static string Msg(string id, long seq, int partition = 0, int attempt = 1, long deadlineInMs = 60000, JToken checkpoint = null) =>
            new JObject
            {
                ["op"] = "msg", ["id"] = id, ["seq"] = seq, ["partition"] = partition, ["attempt"] = attempt, ["failures"] = attempt - 1,
                ["deadline"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + deadlineInMs, ["reply"] = false,
                ["checkpoint"] = checkpoint ?? JValue.CreateNull(),
                ["event"] = new JObject { ["specversion"] = "1.0", ["id"] = "e-" + id, ["source"] = "/fake", ["type"] = "t", ["data"] = new JObject { ["n"] = seq } },
            }.ToString(Newtonsoft.Json.Formatting.None);
    }

    /// <summary>One fake socket: frames the client sent (<see cref="Sent"/>), frames to give it (<see cref="Push(string)"/>).</summary>
    internal sealed class FakeSocket : IWebSocket
    {
        private static int numbers;
        private readonly FakeBus bus;
        private readonly Inbox<string> inbound = new Inbox<string>();
        private const string CloseMark = "\u0000close";

        public FakeSocket(FakeBus bus)
        {
            this.bus = bus;
            Number = Interlocked.Increment(ref numbers);
        }

        public int Number { get; }
        public Uri Uri { get; private set; }
        public IDictionary<string, string> Headers { get; private set; }
        public readonly Inbox<JObject> Sent = new Inbox<JObject>();
        public readonly List<JObject> Log = new List<JObject>();
        public int CloseCode { get; private set; } = 1006;
        public string CloseReason { get; private set; } = "";

        /// <summary>The <c>?partition=</c> of the URL.</summary>
        public int? Partition
        {
            get
            {
                var q = Uri.Query;
                var i = q.IndexOf("partition=", StringComparison.Ordinal);
                return i < 0 ? (int?)null : int.Parse(q.Substring(i + 10));
            }
        }

        public Task ConnectAsync(Uri uri, IDictionary<string, string> headers, CancellationToken cancellationToken)
        {
            Uri = uri;
            Headers = new Dictionary<string, string>(headers);
            var refusal = bus.Refuse(uri, Headers);
            if (refusal != null) throw refusal;
            lock (bus.All) bus.All.Add(this);
            bus.Opened.Add(this);
            return Task.CompletedTask;
        }

        public Task SendAsync(string text, CancellationToken cancellationToken)
        {
            var f = (JObject)Json.Parse(text);
            lock (Log) Log.Add(f);
            // The server's answer (a welcome to hello) is queued before the test sees the
            // frame, so what a test pushes next comes after it, as on a real socket.
            bus.OnFrame(this, f);
            Sent.Add(f);
            return Task.CompletedTask;
        }

        public void Push(string frame) => inbound.Add(frame);

        public void Push(JObject frame) => inbound.Add(frame.ToString(Newtonsoft.Json.Formatting.None));

        public void CloseFromServer(int code, string reason)
        {
            CloseCode = code;
            CloseReason = reason;
            inbound.Add(CloseMark);
        }

        public async Task<string> ReceiveAsync(CancellationToken cancellationToken)
        {
            var text = await inbound.Next(null, 3600).ConfigureAwait(false);
            return text == CloseMark ? null : text;
        }

        public Task CloseAsync(int code, string reason)
        {
            CloseFromServer(code, reason);
            return Task.CompletedTask;
        }

        public void Abort() => CloseFromServer(1006, "aborted");

        public void Dispose() { }

        public List<JObject> Frames(string op)
        {
            lock (Log) return Log.FindAll(f => (string)f["op"] == op);
        }
    }

    /// <summary>An HTTP handler answering from a function.</summary>
    internal sealed class FakeHttp : HttpMessageHandler
    {
        private readonly Func<HttpRequestMessage, (int, string)> answer;
        public readonly List<HttpRequestMessage> Requests = new List<HttpRequestMessage>();

        public FakeHttp(Func<HttpRequestMessage, (int, string)> answer) { this.answer = answer; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests) Requests.Add(request);
            var (status, body) = answer(request);
            return Task.FromResult(new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body ?? "", Encoding.UTF8, "application/json") });
        }
    }
}
