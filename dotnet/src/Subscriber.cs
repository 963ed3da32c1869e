using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>
    /// A consumer of one channel, made by <see cref="IsmlConnection.Subscribe"/>; call
    /// <see cref="Start"/>. On a partitioned topic it opens one socket per partition by
    /// itself (the bus answers a socket without <c>?partition=</c> with 409 and the count),
    /// spreads MaxInFlight over them (at least 1 each), and reconnects each on its own.
    /// </summary>
    public sealed partial class Subscriber
    {
        private static int counter;
        private readonly IsmlConnection connection;
        private readonly SubscriptionOptions options;
        private readonly Func<IsmlMessage, Task> handler;
        private readonly string wireTopic;
        private readonly string wireChannel;
        private readonly object gate = new object();
        /// <summary>Running handlers by run number.</summary>
        private readonly ConcurrentDictionary<long, Task> running = new ConcurrentDictionary<long, Task>();
        private long runs;

        /// <summary>The subscriber and run number of the handler the current code runs in, if any.</summary>
        private static readonly AsyncLocal<KeyValuePair<Subscriber, long>?> handling = new AsyncLocal<KeyValuePair<Subscriber, long>?>();
        private readonly Random random = new Random(Guid.NewGuid().GetHashCode());
        private List<ConsumerSocket> sockets = new List<ConsumerSocket>();
        // Welcomed sockets, kept here: asking a socket under this lock could deadlock with its own.
        private readonly HashSet<ConsumerSocket> live = new HashSet<ConsumerSocket>();
        private TaskCompletionSource<bool> started;
        private int maxInFlight;

        internal Subscriber(IsmlConnection connection, SubscriptionOptions options, Func<IsmlMessage, Task> handler)
        {
            this.connection = connection;
            this.options = options;
            this.handler = handler;
            var prefix = connection.Options.NamePrefix;
            wireTopic = Names.Wire(prefix, options.Topic, false);
            wireChannel = Names.Wire(prefix, options.Channel, true);
            maxInFlight = options.MaxInFlight;
            Id = $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds():x}-{Interlocked.Increment(ref counter)}-{Guid.NewGuid().ToString("N").Substring(0, 6)}";
            FullChannelName = wireChannel + "@" + wireTopic;
        }

        /// <summary>Unique id of this subscriber in this process.</summary>
        public string Id { get; }

        /// <summary>Display name, <c>{channel}@{topic}</c> with wire names (prefix included), e.g. <c>[DEV]OnPingReceivedHandler@[DEV]OnPingSent</c>.</summary>
        public string FullChannelName { get; }

        /// <summary>Where the subscriber stands.</summary>
        public SubscriberState State { get; private set; } = SubscriberState.Idle;

        /// <summary>Sockets in use: the topic's partition count once known, else 1.</summary>
        public int Partitions
        {
            get { lock (gate) return Math.Max(1, sockets.Count); }
        }

        /// <summary>Whether a socket of this subscriber was offered batched frames (a v1.1 bus).</summary>
        internal bool BatchOffered
        {
            get { lock (gate) return batchOffered; }
        }

        private bool batchOffered;

        /// <summary>
        /// Connects and starts handling messages. Completes when the bus welcomed the
        /// subscription (every partition's socket); throws <see cref="UnauthorizedException"/>,
        /// <see cref="ForbiddenException"/> or <see cref="InvalidRequestException"/> when it
        /// cannot be. Later connection losses are retried for ever. Cancelling
        /// <paramref name="cancellationToken"/> before the welcome stops the subscriber.
        /// </summary>
        public Task Start(CancellationToken cancellationToken = default(CancellationToken))
        {
            List<ConsumerSocket> first;
            lock (gate)
            {
                if (State != SubscriberState.Idle) throw new InvalidRequestException("invalid_request", "a subscriber starts once");
                if (maxInFlight < 1) throw new InvalidRequestException("invalid_request", "MaxInFlight must be at least 1");
                started = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                State = SubscriberState.Connecting;
                sockets = new List<ConsumerSocket> { NewConsumer(null, maxInFlight) };
                first = sockets;
            }
            var task = started.Task;
            if (cancellationToken.CanBeCanceled)
            {
                // Giving up on the start gives up on the subscriber.
                var reg = cancellationToken.Register(() =>
                {
                    if (started.TrySetCanceled()) Stop().Forget();
                });
                task.ContinueWith(_ => reg.Dispose(), TaskScheduler.Default).Forget();
            }
            foreach (var s in first) s.Start();
            return task;
        }

        /// <summary>
        /// Stops: no new messages; the socket closes and the server requeues what was in
        /// flight (running handlers see their token cancelled). Completes once running
        /// handlers returned; called from one of this subscriber's handlers, once the others
        /// did (it does not wait for the handler that called it).
        /// </summary>
        public async Task Stop()
        {
            List<ConsumerSocket> all;
            lock (gate)
            {
                State = SubscriberState.Stopped;
                all = sockets.ToList();
            }
            foreach (var s in all) s.Stop();
            started?.TrySetException(new DisconnectedException("subscriber stopped"));
            try
            {
                var me = handling.Value;
                var self = me.HasValue && me.Value.Key == this ? me.Value.Value : -1;
                await Task.WhenAll(running.Where(r => r.Key != self).Select(r => r.Value).ToArray()).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // handlers' failures were reported already
            }
        }

        /// <summary>Changes how many messages are handled at once (spread over the partitions); 0 pauses delivery.</summary>
        public void SetMaxInFlight(int count)
        {
            if (count < 0) throw new InvalidRequestException("invalid_request", "MaxInFlight must be 0 or more");
            List<ConsumerSocket> all;
            lock (gate)
            {
                maxInFlight = count;
                all = sockets.ToList();
            }
            for (var i = 0; i < all.Count; i++) all[i].SetMaxInFlight(Share(count, all.Count, i));
        }

        /// <summary>
        /// Partition <paramref name="index"/>'s share of <paramref name="total"/> credit over
        /// <paramref name="parts"/> sockets: at least 1 each, unless the total is 0 (paused).
        /// </summary>
        internal static int Share(int total, int parts, int index) =>
            total <= 0 ? 0 : Math.Max(1, total / parts + (index < total % parts ? 1 : 0));

        private ConsumerSocket NewConsumer(int? partition, int credit)
        {
            var o = connection.Options;
            var c = o.ClientCredentials;
            var cfg = new SessionConfig
            {
                Login = c?.Token == null && o.TokenProvider == null ? c?.Login : null,
                Secret = c?.Token == null && o.TokenProvider == null ? c?.Secret : null,
                Token = o.TokenProvider == null ? c?.Token : null,
                ClientId = c?.ClientId,
                MaxInFlight = credit,
                HandlerTimeoutMs = (long)options.HandlerTimeout.TotalMilliseconds,
                MaxAttempts = options.MaxAttempts ?? o.MaxAttempts,
                HeartbeatMs = (long)o.HeartbeatInterval.TotalMilliseconds,
                BackoffMs = (long)o.BackoffDuration.TotalMilliseconds,
                ReconnectMinMs = (long)o.ReconnectMin.TotalMilliseconds,
                ReconnectMaxMs = (long)o.ReconnectMax.TotalMilliseconds,
                Partition = partition,
                RetryUnauthorizedOnce = o.TokenProvider != null,
            };
            var path = HttpApi.TopicPath(wireTopic) + "/channels/" + Uri.EscapeDataString(wireChannel) + "/ws";
            var query = partition.HasValue ? new[] { new KeyValuePair<string, string>("partition", partition.Value.ToString()) } : null;
            var http = connection.Http.UrlOf(path, query);
            var ws = new UriBuilder(http) { Scheme = http.Scheme == "https" ? "wss" : "ws" }.Uri;
            return new ConsumerSocket(this, cfg, ws);
        }

        // ---- what the sockets ask of their subscriber ----

        internal JsonSerializer Serializer => connection.Serializer;

        internal TimeSpan ConnectTimeout => connection.Options.ConnectTimeout;

        internal IWebSocket NewSocket() => connection.NewSocket();

        internal double Random()
        {
            lock (random) return random.NextDouble();
        }

        internal async Task<string> TokenAsync(CancellationToken ct)
        {
            var provider = connection.Options.TokenProvider;
            return provider == null ? null : await provider(ct).ConfigureAwait(false);
        }

        internal IDictionary<string, string> Headers(string token)
        {
            var auth = connection.AuthorizationFor(token);
            var headers = new Dictionary<string, string>();
            if (auth != null) headers["Authorization"] = auth;
            return headers;
        }

        internal void OnConnecting(ConsumerSocket s)
        {
            connection.Raise(IsmlEventKind.Connecting, new IsmlEventArgs(this, s.Partition));
        }

        internal void OnWelcome(ConsumerSocket s, SessionAction.Welcome w)
        {
            bool all;
            lock (gate)
            {
                if (State == SubscriberState.Stopped) return;
                live.Add(s);
                batchOffered |= w.Batch;
                all = sockets.All(live.Contains);
                if (all) State = SubscriberState.Connected;
            }
            if (all) started?.TrySetResult(true);
            connection.Raise(IsmlEventKind.Connected, new IsmlEventArgs(this, s.Partition) { Session = w.Session });
        }

        internal void OnDisconnected(ConsumerSocket s, int code, string reason, TimeSpan reconnectIn)
        {
            lock (gate)
            {
                live.Remove(s);
                if (State == SubscriberState.Stopped) return;
                if (State == SubscriberState.Connected) State = SubscriberState.Disconnected;
            }
            connection.Raise(IsmlEventKind.Disconnected, new IsmlEventArgs(this, s.Partition) { Code = code, Reason = reason, ReconnectIn = reconnectIn });
        }

        internal void OnFatal(ConsumerSocket s, IsmldException error)
        {
            List<ConsumerSocket> others;
            lock (gate)
            {
                var wasStopped = State == SubscriberState.Stopped;
                State = SubscriberState.Stopped;
                others = sockets.Where(x => x != s).ToList();
                if (wasStopped && started == null) return;
            }
            started?.TrySetException(error);
            connection.Raise(IsmlEventKind.Error, new IsmlEventArgs(this, s.Partition) { Error = error });
            // Not under the socket's lock: the others take their own.
            Task.Run(() => { foreach (var o in others) o.Stop(); }).Forget();
        }

        internal void OnError(Exception error, int? partition = null)
        {
            connection.Raise(IsmlEventKind.Error, new IsmlEventArgs(this, partition) { Error = error });
        }

        /// <summary>
        /// Finds out why a socket could not be opened. A platform that tells the upgrade's
        /// status is believed; otherwise (ClientWebSocket) the bus is asked for the topic's
        /// stats with the same credentials: 401/403 there mean the socket was refused for
        /// them, and <c>"partitions"</c> over 1 means one socket per partition is needed.
        /// </summary>
        internal async Task<ConnectVerdict> DiagnoseAsync(ConsumerSocket s, Exception e)
        {
            var retry = new ConnectVerdict { CloseCode = 1006, Reason = e.Message };
            if (e is SocketUpgradeException u && u.Status.HasValue)
            {
                var status = u.Status.Value;
                var error = HttpApi.Fail(status, u.Body ?? "");
                if (status == 409) return new ConnectVerdict { CloseCode = 1006, Reason = error.Message, Partitions = PartitionsIn(u.Body) };
                if (status == 401) return new ConnectVerdict { CloseCode = 4001, Reason = error.Message };
                if (status == 403) return new ConnectVerdict { CloseCode = 4003, Reason = error.Message };
                if (status == 400) return new ConnectVerdict { Fatal = error };
                return retry;
            }
            if (!(e is SocketUpgradeException)) return retry;
            try
            {
                using (var cts = new CancellationTokenSource(ConnectTimeout))
                {
                    var stats = await connection.Http.PartitionsAsync(wireTopic, cts.Token).ConfigureAwait(false) as JObject;
                    var n = stats == null ? null : Json.Long(stats, "partitions");
                    if (n > 1 && !s.Partition.HasValue) return new ConnectVerdict { CloseCode = 1006, Reason = retry.Reason, Partitions = (int)n };
                    return new ConnectVerdict { CloseCode = 1006, Reason = retry.Reason, TryWithoutHeader = true };
                }
            }
            catch (UnauthorizedException x)
            {
                return new ConnectVerdict { CloseCode = 4001, Reason = x.Message };
            }
            catch (ForbiddenException x)
            {
                return new ConnectVerdict { CloseCode = 4003, Reason = x.Message };
            }
            catch (Exception)
            {
                // the bus is down, or the topic is not made yet: retry the socket
            }
            return retry;
        }

        private static int? PartitionsIn(string body)
        {
            try
            {
                return Json.Parse(body ?? "") is JObject o ? (int?)Json.Long(o, "partitions") : null;
            }
            catch (Exception)
            {
                return null;
            }
        }

        /// <summary>The topic has <paramref name="partitions"/> partitions: replace the socket without one by one socket per partition.</summary>
        internal bool Replan(ConsumerSocket from, int partitions)
        {
            List<ConsumerSocket> fresh;
            lock (gate)
            {
                if (from.Partition.HasValue || partitions < 1 || State == SubscriberState.Stopped || !sockets.Contains(from)) return false;
                fresh = Enumerable.Range(0, partitions).Select(p => NewConsumer(p, Share(maxInFlight, partitions, p))).ToList();
                sockets = fresh;
                live.Clear();
            }
            from.Stop();
            foreach (var s in fresh) s.Start();
            return true;
        }
    }
}
