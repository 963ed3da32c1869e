using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>Why a socket could not be opened, as its subscriber found out.</summary>
    internal struct ConnectVerdict
    {
        /// <summary>Close code to feed the session (4001, 4003: its fatal rules apply), or 1006 to retry.</summary>
        public int CloseCode;
        /// <summary>A reason to stop for good that no close code carries (e.g. a 400).</summary>
        public IsmldException Fatal;
        /// <summary>The topic has this many partitions: the subscriber opens one socket each instead.</summary>
        public int? Partitions;
        /// <summary>
        /// The bus answers HTTP with these credentials, yet refused the upgrade: try the next
        /// upgrade without the Authorization header, so that the <c>hello</c> is refused with a
        /// close code that says why (e.g. 4003 for a client that may publish but not subscribe).
        /// </summary>
        public bool TryWithoutHeader;
        public string Reason;
    }

    /// <summary>
    /// One consumer socket of a subscriber (one partition, or the whole topic): the driver of
    /// a <see cref="ConsumerSession"/>. Owns the I/O the session asks for: the socket, its
    /// receive loop, one sender at a time, the session's timer, reconnect delays and the
    /// calls waiting for answers. Every session call happens under <c>gate</c>.
    /// </summary>
    internal sealed class ConsumerSocket : IMessageOwner
    {
        private readonly Subscriber owner;
        private readonly ConsumerSession session;
        private readonly object gate = new object();
        private readonly Dictionary<long, TaskCompletionSource<long?>> answers = new Dictionary<long, TaskCompletionSource<long?>>();
        private readonly Dictionary<string, IsmlMessage> messages = new Dictionary<string, IsmlMessage>();
        /// <summary>Frames to send, in order; a close (<see cref="Outgoing.Close"/>) goes after the frames before it.</summary>
        private readonly Queue<Outgoing> outbox = new Queue<Outgoing>();
        private readonly Timer timer;
        private readonly CancellationTokenSource stopped = new CancellationTokenSource();
        private IWebSocket ws;
        private int generation;
        private bool pumping;
        /// <summary>The socket being closed, with its backstop (cancelled once it is closed).</summary>
        private KeyValuePair<IWebSocket, CancellationTokenSource>? closing;
        private bool headerless;
        private int lastCloseCode = 1006;
        private string lastCloseReason = "";

        public ConsumerSocket(Subscriber owner, SessionConfig cfg, Uri uri)
        {
            this.owner = owner;
            Uri = uri;
            Partition = cfg.Partition;
            session = new ConsumerSession(cfg);
            timer = new Timer(_ => OnTimer(), null, System.Threading.Timeout.Infinite, System.Threading.Timeout.Infinite);
        }

        /// <summary>The socket URL (with <c>?partition=P</c> on a partitioned topic).</summary>
        public Uri Uri { get; }

        /// <summary>The partition, or null for a socket opened without one.</summary>
        public int? Partition { get; }

        /// <summary>Whether the server welcomed the current socket.</summary>
        public bool Live
        {
            get { lock (gate) return session.Phase == SessionPhase.Live; }
        }

        /// <summary>Whether the server takes batched (<c>ids</c>) frames on the current socket.</summary>
        public bool ServerBatch
        {
            get { lock (gate) return session.ServerBatch; }
        }

        private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        /// <summary>Opens the first socket.</summary>
        public void Start() => Task.Run(() => RunAsync());

        /// <summary>Stops for good: closes the socket (the server requeues what is in flight), no reconnect.</summary>
        public void Stop()
        {
            lock (gate)
            {
                Perform(session.Stop());
                if (session.Phase == SessionPhase.Stopped && ws == null) Perform(session.Closed(1000, "stopped", 0));
            }
            try { stopped.Cancel(); } catch (ObjectDisposedException) { }
            timer.Dispose();
        }

        /// <summary>Stops for good because of a fatal refusal (no close frame to wait for).</summary>
        public void Fail(IsmldException error)
        {
            lock (gate) Perform(session.Fail(error.Code, error.Message));
        }

        /// <summary>The handler of a message returned (<paramref name="ok"/>) or threw.</summary>
        public void HandlerDone(bool ok)
        {
            lock (gate) Perform(session.HandlerDone(Now(), ok));
        }

        /// <summary>Changes this socket's credit.</summary>
        public void SetMaxInFlight(int count)
        {
            lock (gate) Perform(session.SetMaxInFlight(count));
        }

        private async Task RunAsync()
        {
            int gen;
            lock (gate)
            {
                if (session.Phase == SessionPhase.Stopped) return;
                gen = ++generation;
            }
            owner.OnConnecting(this);
            IWebSocket socket = null;
            string token;
            try
            {
                token = await owner.TokenAsync(stopped.Token).ConfigureAwait(false);
                socket = owner.NewSocket();
                using (var cts = CancellationTokenSource.CreateLinkedTokenSource(stopped.Token))
                {
                    cts.CancelAfter(owner.ConnectTimeout);
                    var headers = owner.Headers(token);
                    if (headerless) headers.Remove("Authorization");
                    await socket.ConnectAsync(Uri, headers, cts.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                socket?.Dispose();
                if (stopped.IsCancellationRequested) return;
                var verdict = await owner.DiagnoseAsync(this, e).ConfigureAwait(false);
                if (verdict.Partitions.HasValue && owner.Replan(this, verdict.Partitions.Value)) return;
                lock (gate)
                {
                    if (gen != generation) return;
                    headerless = verdict.TryWithoutHeader && !headerless;
                    if (verdict.Fatal != null) Perform(session.Fail(verdict.Fatal.Code, verdict.Fatal.Message));
                    else
                    {
                        lastCloseCode = verdict.CloseCode;
                        lastCloseReason = verdict.Reason ?? e.Message;
                        Perform(session.Closed(verdict.CloseCode, lastCloseReason, owner.Random()));
                    }
                }
                return;
            }
            lock (gate)
            {
                if (gen != generation || session.Phase == SessionPhase.Stopped)
                {
                    var s = socket;
                    Task.Run(() => s.CloseAsync(1000, "stopped")).Forget();
                    return;
                }
                ws = socket;
                Perform(session.Opened(Now(), token));
            }
            // A socket that opened but is never welcomed (a runtime half up) must not stall us.
            Task.Delay(owner.ConnectTimeout, stopped.Token).ContinueWith(t =>
            {
                if (t.IsCanceled) return;
                lock (gate)
                {
                    if (gen == generation && ws == socket && session.Phase == SessionPhase.Handshake) socket.Abort();
                }
            }, TaskScheduler.Default).Forget();
            while (true)
            {
                string text;
                try
                {
                    text = await socket.ReceiveAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    text = null;
                }
                if (text == null) break;
                lock (gate)
                {
                    if (gen != generation || ws != socket) break;
                    Perform(session.Received(Now(), text));
                }
            }
            lock (gate)
            {
                if (closing != null && closing.Value.Key == socket)
                {
                    closing.Value.Value.Cancel();
                    closing = null;
                }
                if (gen == generation && ws == socket)
                {
                    ws = null;
                    outbox.Clear();
                    lastCloseCode = socket.CloseCode;
                    lastCloseReason = socket.CloseReason;
                    Perform(session.Closed(socket.CloseCode, socket.CloseReason, owner.Random()));
                }
            }
            socket.Dispose();
        }

        private void OnTimer()
        {
            lock (gate) Perform(session.Timer(Now()));
        }

        /// <summary>Does what the session asks, then sets its timer. Called under <c>gate</c>.</summary>
        private void Perform(List<SessionAction> actions)
        {
            foreach (var a in actions)
            {
                if (a is SessionAction.Send s)
                {
                    if (ws != null) Enqueue(new Outgoing { Socket = ws, Frame = s.Frame });
                }
                else if (a is SessionAction.Welcome w)
                {
                    owner.OnWelcome(this, w);
                }
                else if (a is SessionAction.Deliver d)
                {
                    var msg = new IsmlMessage(this, d, owner.Serializer);
                    messages[d.Id] = msg;
                    owner.Dispatch(this, msg);
                }
                else if (a is SessionAction.Answer an)
                {
                    if (answers.TryGetValue(an.Ref, out var tcs))
                    {
                        answers.Remove(an.Ref);
                        if (an.Ok) tcs.TrySetResult(an.Deadline);
                        else tcs.TrySetException(IsmldException.For(an.Code ?? "internal", an.Message ?? "refused"));
                    }
                }
                else if (a is SessionAction.Abort ab)
                {
                    // Cancelling runs the handlers' callbacks: never under our lock.
                    var lost = ab.Ids.Where(messages.ContainsKey).Select(id => messages[id]).ToList();
                    if (lost.Count > 0) Task.Run(() => lost.ForEach(m => m.Abort())).Forget();
                }
                else if (a is SessionAction.Error e)
                {
                    owner.OnError(IsmldException.For(e.Code, e.Message));
                }
                else if (a is SessionAction.Close c)
                {
                    var sock = ws;
                    if (sock != null)
                    {
                        // After the frames queued before it (a stop's last acks); a socket whose
                        // sends hang is dropped after 5 s (the backstop ends with the socket).
                        Enqueue(new Outgoing { Socket = sock, Close = c });
                        if (closing == null || closing.Value.Key != sock)
                        {
                            var backstop = new CancellationTokenSource();
                            closing = new KeyValuePair<IWebSocket, CancellationTokenSource>(sock, backstop);
                            Task.Delay(TimeSpan.FromSeconds(5), backstop.Token)
                                .ContinueWith(t => { if (!t.IsCanceled) sock.Dispose(); }, TaskScheduler.Default).Forget();
                        }
                    }
                }
                else if (a is SessionAction.Reconnect r)
                {
                    owner.OnDisconnected(this, lastCloseCode, lastCloseReason, TimeSpan.FromMilliseconds(r.AfterMs));
                    Task.Delay(TimeSpan.FromMilliseconds(r.AfterMs), stopped.Token)
                        .ContinueWith(t => { if (!t.IsCanceled) RunAsync().Forget(); }, TaskScheduler.Default);
                }
                else if (a is SessionAction.Fatal f)
                {
                    owner.OnFatal(this, IsmldException.For(f.Code, f.Message));
                }
            }
            Schedule();
        }

        private void Schedule()
        {
            var at = session.Phase == SessionPhase.Stopped ? null : session.NextTimer();
            try
            {
                if (!at.HasValue) timer.Change(System.Threading.Timeout.Infinite, System.Threading.Timeout.Infinite);
                else timer.Change(Math.Max(0, Math.Min(at.Value - Now(), int.MaxValue)), System.Threading.Timeout.Infinite);
            }
            catch (ObjectDisposedException)
            {
                // stopped
            }
        }

        /// <summary>Queues a frame for the socket; one pump sends them in order, one at a time.</summary>
        private sealed class Outgoing
        {
            public IWebSocket Socket;
            public string Frame;
            public SessionAction.Close Close;
        }

        private void Enqueue(Outgoing next)
        {
            outbox.Enqueue(next);
            if (pumping) return;
            pumping = true;
            Task.Run(() => PumpAsync());
        }

        private async Task PumpAsync()
        {
            while (true)
            {
                Outgoing next;
                lock (gate)
                {
                    if (outbox.Count == 0)
                    {
                        pumping = false;
                        return;
                    }
                    next = outbox.Dequeue();
                }
                try
                {
                    if (next.Close != null) await next.Socket.CloseAsync(next.Close.Code, next.Close.Reason).ConfigureAwait(false);
                    else await next.Socket.SendAsync(next.Frame, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // closing: the receive loop sees the close and settles what is pending
                }
            }
        }

        /// <summary>Called by the subscriber once a message's handler is done (a redelivery of the same id may have replaced it).</summary>
        public void Forget(IsmlMessage msg)
        {
            lock (gate)
            {
                if (messages.TryGetValue(msg.Id, out var m) && m == msg) messages.Remove(msg.Id);
            }
        }

        public Task<long?> SettleAsync(string verb, string id, JToken state, long? delayMs)
        {
            var tcs = new TaskCompletionSource<long?>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (gate)
            {
                var (r, actions) = session.Settle(verb, id, state, delayMs);
                answers[r] = tcs;
                Perform(actions);
            }
            return tcs.Task;
        }

        public Task RespondAsync(string id, JToken data, string contentType)
        {
            var tcs = new TaskCompletionSource<long?>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (gate)
            {
                var (r, actions) = session.Respond(id, data, contentType);
                answers[r] = tcs;
                Perform(actions);
            }
            return tcs.Task;
        }
    }
}
