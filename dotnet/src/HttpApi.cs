using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>A body for the bus: its bytes, content type and query parameters.</summary>
    internal sealed class HttpBody
    {
        public byte[] Bytes;
        public string ContentType;
        public List<KeyValuePair<string, string>> Query = new List<KeyValuePair<string, string>>();
    }

    /// <summary>
    /// The HTTP half of a connection: publishes, requests and topic stats, with the
    /// connection's credentials, and contract errors turned into typed exceptions.
    /// </summary>
    internal sealed class HttpApi : IDisposable
    {
        private readonly HttpClient http;
        private readonly Func<CancellationToken, Task<string>> authorization;
        private static readonly Random Jitter = new Random();

        public HttpApi(Uri baseUri, Func<CancellationToken, Task<string>> authorization, HttpMessageHandler handler)
        {
            BaseUri = baseUri;
            this.authorization = authorization;
            http = handler == null ? new HttpClient() : new HttpClient(handler, false);
            http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        }

        /// <summary>Base URL of the bus, without a trailing slash.</summary>
        public Uri BaseUri { get; }

        /// <summary>The URL of a path with query parameters.</summary>
        public Uri UrlOf(string path, IEnumerable<KeyValuePair<string, string>> query = null)
        {
            var q = query == null ? "" : string.Join("&", query.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value)));
            return new Uri(BaseUri.ToString().TrimEnd('/') + path + (q.Length > 0 ? "?" + q : ""));
        }

        /// <summary>The path of a topic (its wire name escaped).</summary>
        public static string TopicPath(string wireTopic) => "/v1/topics/" + Uri.EscapeDataString(wireTopic);

        /// <summary>Sends one request; answers status and body text. Network failures throw <see cref="HttpRequestException"/>.</summary>
        public async Task<(int Status, string Text)> SendAsync(HttpMethod method, Uri url, HttpBody body, CancellationToken ct)
        {
            using (var req = new HttpRequestMessage(method, url))
            {
                var auth = authorization == null ? null : await authorization(ct).ConfigureAwait(false);
                if (auth != null) req.Headers.TryAddWithoutValidation("Authorization", auth);
                if (body != null)
                {
                    req.Content = new ByteArrayContent(body.Bytes);
                    req.Content.Headers.TryAddWithoutValidation("Content-Type", body.ContentType);
                }
                using (var res = await http.SendAsync(req, ct).ConfigureAwait(false))
                {
                    var text = res.Content == null ? "" : await res.Content.ReadAsStringAsync().ConfigureAwait(false);
                    return ((int)res.StatusCode, text);
                }
            }
        }

        /// <summary>A contract error body as a typed exception.</summary>
        public static IsmldException Fail(int status, string text)
        {
            string code = null, message = null;
            try
            {
                if (Json.Parse(text)["error"] is JObject e)
                {
                    code = Json.Str(e, "code");
                    message = Json.Str(e, "message");
                }
            }
            catch (Exception)
            {
                // not a contract error body
            }
            if (code == null || !IsmldException.IsKnownCode(code)) code = CodeForStatus(status);
            return IsmldException.For(code, message ?? $"HTTP {status}", status);
        }

        /// <summary>
        /// The contract code an HTTP status stands for, for answers without a contract error
        /// body (a proxy, a runtime error page) or with a code this client does not know.
        /// </summary>
        public static string CodeForStatus(int status)
        {
            switch (status)
            {
                case 401: return "unauthorized";
                case 403: return "forbidden";
                case 404: return "not_found";
                case 409: return "conflict";
                case 413: return "payload_too_large";
                case 415: return "unsupported_media_type";
                case 408:
                case 504: return "timeout";
                case 429:
                case 502:
                case 503: return "unavailable";
                case 507: return "storage_full";
                default: return status >= 400 && status < 500 ? "invalid_request" : "internal";
            }
        }

        /// <summary>
        /// <c>POST /v1/topics/{topic}/events</c>: answers the JSON. With <paramref name="retry"/>
        /// (a publish carrying its ids, which the bus deduplicates), network errors and 5xx
        /// answers other than <c>storage_full</c> are retried up to 4 times with jitter.
        /// </summary>
        public async Task<JToken> PublishAsync(string wireTopic, HttpBody body, bool retry, CancellationToken ct)
        {
            var url = UrlOf(TopicPath(wireTopic) + "/events", body.Query);
            for (var attempt = 0; ; attempt++)
            {
                int status;
                string text;
                try
                {
                    (status, text) = await SendAsync(HttpMethod.Post, url, body, ct).ConfigureAwait(false);
                }
                catch (HttpRequestException e)
                {
                    if (!retry || attempt >= 4) throw new DisconnectedException("publish failed: " + e.Message, e);
                    await Pause(attempt, ct).ConfigureAwait(false);
                    continue;
                }
                if (status == 201) return Json.Parse(text);
                if (retry && status >= 500 && status != 507 && attempt < 4)
                {
                    await Pause(attempt, ct).ConfigureAwait(false);
                    continue;
                }
                throw Fail(status, text);
            }
        }

        private static Task Pause(int attempt, CancellationToken ct)
        {
            double r;
            lock (Jitter) r = Jitter.NextDouble();
            return Task.Delay(TimeSpan.FromMilliseconds(r * 250 * (1 << attempt)), ct);
        }

        /// <summary><c>POST /v1/topics/{topic}/requests</c>: answers the response CloudEvent's JSON.</summary>
        public async Task<JToken> RequestAsync(string wireTopic, HttpBody body, TimeSpan timeout, CancellationToken ct)
        {
            var url = UrlOf(TopicPath(wireTopic) + "/requests", body.Query);
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                // The bus answers 504 itself at the timeout; this only guards against a bus that never answers.
                cts.CancelAfter(timeout + TimeSpan.FromSeconds(10));
                int status;
                string text;
                try
                {
                    (status, text) = await SendAsync(HttpMethod.Post, url, body, cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new IsmldTimeoutException("timeout", "no response in time");
                }
                catch (HttpRequestException e)
                {
                    throw new DisconnectedException("request failed: " + e.Message, e);
                }
                if (status == 200) return Json.Parse(text);
                throw Fail(status, text);
            }
        }

        /// <summary><c>GET /v1/topics/{topic}</c>: the topic's stats.</summary>
        public Task<JToken> StatsAsync(string wireTopic, CancellationToken ct) => GetAsync(TopicPath(wireTopic), ct);

        /// <summary><c>GET /v1/topics/{topic}/partitions</c>: <c>{"topic", "partitions"}</c>, the count alone (cheap: no stats are gathered).</summary>
        public Task<JToken> PartitionsAsync(string wireTopic, CancellationToken ct) => GetAsync(TopicPath(wireTopic) + "/partitions", ct);

        private async Task<JToken> GetAsync(string path, CancellationToken ct)
        {
            int status;
            string text;
            try
            {
                (status, text) = await SendAsync(HttpMethod.Get, UrlOf(path), null, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new DisconnectedException("GET " + path + " failed: " + e.Message, e);
            }
            if (status == 200) return Json.Parse(text);
            throw Fail(status, text);
        }

        public void Dispose() => http.Dispose();
    }
}
