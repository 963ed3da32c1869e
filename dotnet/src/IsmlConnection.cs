using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>
    /// A connection to an ismld bus. Publishing and requests are HTTP calls; each subscriber
    /// has its own WebSocket (one per partition). Nothing is opened until used. Thread-safe.
    /// </summary>
    /// <example>
    /// <code>
    /// var connection = new IsmlConnection(new IsmlConnectionOptions { Host = "127.0.0.1:8787",
    ///     ClientCredentials = new ClientCredentials { Login = "foo", Secret = secret } }, cancellationToken);
    /// var metadata = await connection.PublishAsync("orders", new { total = 12 });
    /// </code>
    /// </example>
    public sealed class IsmlConnection : IDisposable
    {
        private readonly List<Subscriber> subscribers = new List<Subscriber>();
        private readonly CancellationToken closing;
        private readonly CancellationTokenRegistration registration;
        private readonly string source;
        private int closed;

        /// <summary>
        /// Makes a connection. Cancelling <paramref name="cancellationToken"/> closes it (as
        /// <see cref="CloseAsync"/>) and cancels the calls in progress.
        /// </summary>
        public IsmlConnection(IsmlConnectionOptions options, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            Options = options.Copy();
            var baseUri = BaseUri(Options);
            Serializer = JsonSerializer.Create(Options.JsonSettings ?? Json.DefaultSettings);
            var c = Options.ClientCredentials;
            source = Options.Source ?? (c?.Login != null && c.Token == null && Options.TokenProvider == null ? "/clients/" + c.Login : "/ismld-dotnet");
            Http = new HttpApi(baseUri, async ct => AuthorizationFor(Options.TokenProvider == null ? null : await Options.TokenProvider(ct).ConfigureAwait(false)), Options.HttpHandler);
            closing = cancellationToken;
            if (cancellationToken.CanBeCanceled) registration = cancellationToken.Register(() => Task.Run(() => CloseAsync()));
        }

        private static Uri BaseUri(IsmlConnectionOptions o)
        {
            var text = o.Url ?? o.Host;
            if (string.IsNullOrWhiteSpace(text)) throw new InvalidRequestException("invalid_request", "IsmlConnectionOptions needs Host or Url");
            if (!text.Contains("://")) text = "http://" + text;
            if (!Uri.TryCreate(text.TrimEnd('/'), UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            {
                throw new InvalidRequestException("invalid_request", $"not an http(s) URL: {text}");
            }
            return uri;
        }

        /// <summary>The options in force (a copy of those given).</summary>
        public IsmlConnectionOptions Options { get; }

        /// <summary>A subscriber is opening a socket.</summary>
        public event EventHandler<IsmlEventArgs> Connecting;

        /// <summary>A subscriber's socket was welcomed.</summary>
        public event EventHandler<IsmlEventArgs> Connected;

        /// <summary>A subscriber's socket closed; it is retried after <see cref="IsmlEventArgs.ReconnectIn"/>.</summary>
        public event EventHandler<IsmlEventArgs> Disconnected;

        /// <summary>Something failed: a fatal refusal, a handler's exception, a refused frame.</summary>
        public event EventHandler<IsmlEventArgs> Error;

        internal HttpApi Http { get; }

        internal JsonSerializer Serializer { get; }

        internal IWebSocket NewSocket() => Options.WebSocketFactory != null ? Options.WebSocketFactory() : new ClientWebSocketAdapter();

        /// <summary>The Authorization header for a call (a provider's token wins).</summary>
        internal string AuthorizationFor(string token)
        {
            if (token != null) return "Bearer " + token;
            var c = Options.ClientCredentials;
            if (c == null) return null;
            if (c.Token != null) return "Bearer " + c.Token;
            if (c.Login != null) return "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(c.Login + ":" + (c.Secret ?? "")));
            return null;
        }

        /// <summary>
        /// Raises an event on the thread pool, in order: listeners never run under a
        /// subscriber's lock, and see events in the order they happened.
        /// </summary>
        internal void Raise(IsmlEventKind kind, IsmlEventArgs e)
        {
            lock (events)
            {
                events.Enqueue(new KeyValuePair<IsmlEventKind, IsmlEventArgs>(kind, e));
                if (raising) return;
                raising = true;
            }
            Task.Run(() => RaiseQueued()).Forget();
        }

        private readonly Queue<KeyValuePair<IsmlEventKind, IsmlEventArgs>> events = new Queue<KeyValuePair<IsmlEventKind, IsmlEventArgs>>();
        private bool raising;

        private void RaiseQueued()
        {
            while (true)
            {
                KeyValuePair<IsmlEventKind, IsmlEventArgs> next;
                lock (events)
                {
                    if (events.Count == 0)
                    {
                        raising = false;
                        return;
                    }
                    next = events.Dequeue();
                }
                var kind = next.Key;
                var handlers = kind == IsmlEventKind.Connecting ? Connecting : kind == IsmlEventKind.Connected ? Connected
                    : kind == IsmlEventKind.Disconnected ? Disconnected : Error;
                if (handlers == null) continue;
                foreach (EventHandler<IsmlEventArgs> h in handlers.GetInvocationList())
                {
                    try { h(this, next.Value); } catch (Exception) { /* a listener's failure is its own */ }
                }
            }
        }

        private void Open()
        {
            if (Volatile.Read(ref closed) != 0) throw new InvalidRequestException("invalid_request", "the connection is closed");
        }

        private CancellationTokenSource Linked(CancellationToken ct) => CancellationTokenSource.CreateLinkedTokenSource(ct, closing);

        private string Wire(string topic) => Names.Wire(Options.NamePrefix, topic, false);

        private static List<KeyValuePair<string, string>> Query(string orderingKey, TimeSpan? delay)
        {
            var q = new List<KeyValuePair<string, string>>();
            if (orderingKey != null) q.Add(new KeyValuePair<string, string>("ordering_key", orderingKey));
            if (delay.HasValue) q.Add(new KeyValuePair<string, string>("delay_ms", ((long)delay.Value.TotalMilliseconds).ToString()));
            return q;
        }

        /// <summary>A plain body: the bus makes the event (bytes, text or JSON).</summary>
        private HttpBody Plain(object data, string contentType)
        {
            if (data is byte[] bytes) return new HttpBody { Bytes = bytes, ContentType = contentType ?? "application/octet-stream" };
            // A string is text, or JSON text with a JSON content type: sent as it is either way.
            if (data is string s) return new HttpBody { Bytes = Encoding.UTF8.GetBytes(s), ContentType = contentType ?? "text/plain; charset=utf-8" };
            return new HttpBody { Bytes = Encoding.UTF8.GetBytes(Json.Encode(Json.From(data, Serializer))), ContentType = contentType ?? "application/json" };
        }

        /// <summary>Whether a content type is JSON (application/json, text/json, any +json), parameters aside.</summary>
        internal static bool IsJson(string contentType)
        {
            var media = contentType.Split(';')[0].Trim().ToLowerInvariant();
            return media == "application/json" || media == "text/json" || media.EndsWith("+json", StringComparison.Ordinal);
        }

        /// <summary>
        /// The event's data as the bus would make it from a plain body: byte[] as
        /// data_base64, a string as text (or, with a JSON content type, the JSON value it
        /// holds), anything else as JSON.
        /// </summary>
        private void SetData(CloudEvent e, object data, string contentType)
        {
            if (data is byte[] bytes)
            {
                e.DataContentType = contentType ?? "application/octet-stream";
                e.DataBase64 = Convert.ToBase64String(bytes);
            }
            else if (data is string s && contentType != null && IsJson(contentType))
            {
                try { e.Data = JToken.Parse(s); }
                catch (JsonReaderException) { throw new InvalidRequestException("invalid_request", "data is not JSON text, though its content type is " + contentType); }
                e.DataContentType = contentType;
            }
            else if (data is string text)
            {
                e.DataContentType = contentType ?? "text/plain; charset=utf-8";
                e.Data = new JValue(text);
            }
            else
            {
                e.DataContentType = contentType ?? "application/json";
                e.Data = Json.From(data, Serializer);
            }
        }

        private CloudEvent MakeEvent(string wireTopic, BatchItem item, DateTimeOffset now, string contentType = null)
        {
            var e = new CloudEvent
            {
                Id = item.Id ?? Guid.NewGuid().ToString(),
                Source = source,
                Type = item.Type ?? wireTopic,
                Subject = item.Subject,
            };
            SetData(e, item.Data, contentType);
            if (item.OrderingKey != null) e.OrderingKey = item.OrderingKey;
            if (item.Delay.HasValue && item.Delay.Value > TimeSpan.Zero)
            {
                e.Extensions["deliverafter"] = (now + item.Delay.Value).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
            }
            return e;
        }

        private static PublishMetadata Metadata(string topic, JToken r) => new PublishMetadata
        {
            Topic = topic,
            MsgId = (string)r["id"],
            Seq = (long?)r["seq"] ?? 0,
            Partition = (int?)r["partition"] ?? 0,
            Duplicate = (bool?)r["duplicate"] ?? false,
        };

        /// <summary>
        /// Publishes one event with <paramref name="data"/> as its data (values are JSON,
        /// strings text, byte[] binary). Completes once the event is durable.
        /// </summary>
        public async Task<PublishMetadata> PublishAsync<T>(string topic, T data, PublishOptions options = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            Open();
            var o = options ?? new PublishOptions();
            var wire = Wire(topic);
            HttpBody body;
            if (o.Id != null)
            {
                var e = MakeEvent(wire, new BatchItem(data) { Id = o.Id, Type = o.Type, Subject = o.Subject, OrderingKey = o.OrderingKey }, DateTimeOffset.UtcNow, o.ContentType);
                body = new HttpBody { Bytes = Encoding.UTF8.GetBytes(e.ToJson()), ContentType = "application/cloudevents+json" };
            }
            else body = Plain(data, o.ContentType);
            body.Query = Query(o.OrderingKey, o.Delay);
            using (var cts = Linked(cancellationToken))
            {
                var answer = await Tracked(Http.PublishAsync(wire, body, o.Id != null, cts.Token)).ConfigureAwait(false);
                return Metadata((string)answer["topic"] ?? wire, answer);
            }
        }

        /// <summary>Publishes a complete CloudEvent as it is (structured mode); only OrderingKey and Delay of <paramref name="options"/> apply.</summary>
        public async Task<PublishMetadata> PublishAsync(string topic, CloudEvent cloudEvent, PublishOptions options = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            Open();
            if (cloudEvent == null) throw new ArgumentNullException(nameof(cloudEvent));
            var wire = Wire(topic);
            var body = new HttpBody { Bytes = Encoding.UTF8.GetBytes(cloudEvent.ToJson()), ContentType = "application/cloudevents+json", Query = Query(options?.OrderingKey, options?.Delay) };
            using (var cts = Linked(cancellationToken))
            {
                var answer = await Tracked(Http.PublishAsync(wire, body, true, cts.Token)).ConfigureAwait(false);
                return Metadata((string)answer["topic"] ?? wire, answer);
            }
        }

        /// <summary>Publishes events all or nothing, in order (consecutive seqs). Every event gets an id (generated when absent), so a retried batch is deduplicated.</summary>
        public Task<IReadOnlyList<PublishMetadata>> PublishBatchAsync(string topic, IEnumerable<BatchItem> items, CancellationToken cancellationToken = default(CancellationToken))
        {
            Open();
            var wire = Wire(topic);
            var now = DateTimeOffset.UtcNow;
            return Batch(wire, items.Select(i => MakeEvent(wire, i, now)), cancellationToken);
        }

        /// <summary>Publishes complete CloudEvents all or nothing, in order.</summary>
        public Task<IReadOnlyList<PublishMetadata>> PublishBatchAsync(string topic, IEnumerable<CloudEvent> events, CancellationToken cancellationToken = default(CancellationToken))
        {
            Open();
            return Batch(Wire(topic), events, cancellationToken);
        }

        private async Task<IReadOnlyList<PublishMetadata>> Batch(string wire, IEnumerable<CloudEvent> events, CancellationToken ct)
        {
            var array = new JArray(events.Select(e => (object)Json.Parse(e.ToJson())).ToArray());
            var body = new HttpBody { Bytes = Encoding.UTF8.GetBytes(Json.Encode(array)), ContentType = "application/cloudevents-batch+json" };
            using (var cts = Linked(ct))
            {
                var answer = await Tracked(Http.PublishAsync(wire, body, true, cts.Token)).ConfigureAwait(false);
                var topic = (string)answer["topic"] ?? wire;
                return ((answer["results"] as JArray) ?? new JArray()).Select(r => Metadata(topic, r)).ToList();
            }
        }

        /// <summary>Synchronous <see cref="PublishAsync{T}"/>.</summary>
        public PublishMetadata Publish<T>(string topic, T data, PublishOptions options = null) =>
            Task.Run(() => PublishAsync(topic, data, options)).GetAwaiter().GetResult();

        /// <summary>Synchronous <see cref="PublishAsync(string, CloudEvent, PublishOptions, CancellationToken)"/>.</summary>
        public PublishMetadata Publish(string topic, CloudEvent cloudEvent, PublishOptions options = null) =>
            Task.Run(() => PublishAsync(topic, cloudEvent, options)).GetAwaiter().GetResult();

        /// <summary>Synchronous <see cref="PublishBatchAsync(string, IEnumerable{BatchItem}, CancellationToken)"/>.</summary>
        public IReadOnlyList<PublishMetadata> PublishBatch(string topic, IEnumerable<BatchItem> items) =>
            Task.Run(() => PublishBatchAsync(topic, items)).GetAwaiter().GetResult();

        /// <summary>Synchronous <see cref="PublishBatchAsync(string, IEnumerable{CloudEvent}, CancellationToken)"/>.</summary>
        public IReadOnlyList<PublishMetadata> PublishBatch(string topic, IEnumerable<CloudEvent> events) =>
            Task.Run(() => PublishBatchAsync(topic, events)).GetAwaiter().GetResult();

        /// <summary>
        /// Publishes <paramref name="data"/> as a request and waits for the first response
        /// (<see cref="IsmlMessage.Respond"/> on a subscriber); answers the response event.
        /// Throws <see cref="IsmldTimeoutException"/> when none comes within
        /// <paramref name="timeout"/> (default 30 s, at most 300 s); the request event stays published.
        /// </summary>
        public async Task<CloudEvent> RequestEventAsync(string topic, object data, TimeSpan? timeout = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            Open();
            var wire = Wire(topic);
            var t = timeout ?? TimeSpan.FromSeconds(30);
            var body = Plain(data, null);
            body.Query = new List<KeyValuePair<string, string>> { new KeyValuePair<string, string>("timeout_ms", ((long)t.TotalMilliseconds).ToString()) };
            using (var cts = Linked(cancellationToken))
            {
                return CloudEvent.FromJson(await Http.RequestAsync(wire, body, t, cts.Token).ConfigureAwait(false));
            }
        }

        /// <summary>As <see cref="RequestEventAsync"/>, answering the response's data as a <typeparamref name="T"/>.</summary>
        public async Task<T> RequestAsync<T>(string topic, object data, TimeSpan? timeout = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            var e = await RequestEventAsync(topic, data, timeout, cancellationToken).ConfigureAwait(false);
            return new JsonData(e.Data, Serializer).CastTo<T>();
        }

        /// <summary>Topic stats (<c>GET /v1/topics/{topic}</c>) as JSON.</summary>
        public async Task<JObject> StatsAsync(string topic, CancellationToken cancellationToken = default(CancellationToken))
        {
            Open();
            using (var cts = Linked(cancellationToken))
            {
                return (JObject)await Http.StatsAsync(Wire(topic), cts.Token).ConfigureAwait(false);
            }
        }

        /// <summary>Makes a subscriber of a channel; call <see cref="Subscriber.Start"/>. The handler returns to finish the message, throws to requeue it.</summary>
        public Subscriber Subscribe(SubscriptionOptions options, Func<IsmlMessage, Task> handler)
        {
            Open();
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (handler == null) throw new ArgumentNullException(nameof(handler));
            var sub = new Subscriber(this, options, handler);
            lock (subscribers) subscribers.Add(sub);
            return sub;
        }

        /// <summary>Publishes waiting for their answer (<see cref="CloseAsync"/> waits for them).</summary>
        private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, bool> publishing = new System.Collections.Concurrent.ConcurrentDictionary<Task, bool>();

        private async Task<T> Tracked<T>(Task<T> call)
        {
            publishing[call] = true;
            try { return await call.ConfigureAwait(false); }
            finally { publishing.TryRemove(call, out _); }
        }

        /// <summary>Stops every subscriber (see <see cref="Subscriber.Stop"/>), waits for the publishes in flight, and refuses further calls.</summary>
        public async Task CloseAsync()
        {
            if (Interlocked.Exchange(ref closed, 1) != 0) return;
            Subscriber[] all;
            lock (subscribers) all = subscribers.ToArray();
            await Task.WhenAll(all.Select(s => s.Stop())).ConfigureAwait(false);
            try
            {
                await Task.WhenAll(publishing.Keys.ToArray()).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // each publish reports its own failure to its caller
            }
            registration.Dispose();
            Http.Dispose();
        }

        /// <summary>Closes the connection (waits for <see cref="CloseAsync"/>).</summary>
        public void Dispose() => Task.Run(() => CloseAsync()).GetAwaiter().GetResult();
    }
}
