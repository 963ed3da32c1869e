using System;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>What a message needs from the socket that delivered it.</summary>
    internal interface IMessageOwner
    {
        /// <summary>fin / touch / req / shelve; answers the new deadline of a touch.</summary>
        Task<long?> SettleAsync(string verb, string id, JToken state, long? delayMs);

        /// <summary>respond (also finishes the message).</summary>
        Task RespondAsync(string id, JToken data, string contentType);
    }

    /// <summary>
    /// A message delivered to a handler. Settle it at most once with <see cref="Finish"/>,
    /// <see cref="Shelve"/>, <see cref="Requeue"/> or <see cref="Respond"/>;
    /// <see cref="Acknowledge"/> and <see cref="Touch"/> keep it and may be called any number
    /// of times before. A handler that returns without settling finishes the message; one
    /// that throws requeues it. A settle call whose connection was lost throws
    /// <see cref="DisconnectedException"/> (the server redelivers the message, with its last
    /// checkpoint).
    /// </summary>
    public sealed class IsmlMessage
    {
        private readonly IMessageOwner owner;
        private readonly JsonSerializer serializer;
        private readonly CancellationTokenSource cts = new CancellationTokenSource();
        private readonly object gate = new object();
        private bool settled;

        internal IsmlMessage(IMessageOwner owner, SessionAction.Deliver d, JsonSerializer serializer)
        {
            this.owner = owner;
            this.serializer = serializer;
            Id = d.Id;
            Seq = d.Seq;
            Partition = d.Partition;
            Attempt = d.Attempt;
            Failures = d.Failures;
            Reply = d.Reply;
            Event = CloudEvent.FromJson(d.Event) ?? new CloudEvent();
            byte[] bytes = null;
            if (Event.Data == null && Event.DataBase64 != null)
            {
                try { bytes = Convert.FromBase64String(Event.DataBase64); } catch (FormatException) { bytes = null; }
            }
            Payload = new JsonData(Event.Data ?? (Event.DataBase64 != null ? new JValue(Event.DataBase64) : null), serializer, bytes);
            Checkpoint = new JsonData(d.Checkpoint, serializer);
            SetDeadline(d.Deadline);
        }

        /// <summary>Message id: opaque, unique within the topic (what fin and redrive take).</summary>
        public string Id { get; }

        /// <summary>Sequence number within its partition.</summary>
        public long Seq { get; }

        /// <summary>Partition the message comes from (0 on unpartitioned topics).</summary>
        public int Partition { get; }

        /// <summary>Deliveries so far, this one included.</summary>
        public int Attempt { get; }

        /// <summary>Failed deliveries so far.</summary>
        public int Failures { get; }

        /// <summary>Whether the publisher waits for <see cref="Respond"/> (a request).</summary>
        public bool Reply { get; }

        /// <summary>The CloudEvent.</summary>
        public CloudEvent Event { get; }

        /// <summary>The event's data: <c>message.Payload.CastTo&lt;T&gt;()</c>; binary data is in <see cref="JsonData.Bytes"/>.</summary>
        public JsonData Payload { get; }

        /// <summary>The last saved checkpoint, restored on redelivery (<c>CastTo&lt;T&gt;()</c> gives null when there is none).</summary>
        public JsonData Checkpoint { get; private set; }

        /// <summary>In-flight deadline; <see cref="Acknowledge"/> and <see cref="Touch"/> move it.</summary>
        public DateTimeOffset Deadline { get; private set; }

        /// <summary>Cancelled when the in-flight deadline passes, when the connection is lost, and once the handler returned: stop, and shelve if you can.</summary>
        public CancellationToken CancellationToken => cts.Token;

        /// <summary>Whether the message was finished, shelved, requeued or responded to.</summary>
        public bool Settled
        {
            get { lock (gate) return settled; }
        }

        private void SetDeadline(long deadlineMs)
        {
            Deadline = DateTimeOffset.FromUnixTimeMilliseconds(deadlineMs);
            var left = deadlineMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            try
            {
                if (left <= 0) cts.Cancel();
                else cts.CancelAfter(TimeSpan.FromMilliseconds(Math.Min(left, int.MaxValue)));
            }
            catch (ObjectDisposedException)
            {
                // the handler is long gone
            }
        }

        /// <summary>Cancels the token (deadline passed, connection lost, handler returned).</summary>
        internal void Abort()
        {
            try { cts.Cancel(); } catch (ObjectDisposedException) { }
        }

        private void Claim(string verb, bool settles)
        {
            lock (gate)
            {
                if (settled) throw new InvalidRequestException("invalid_request", $"message {Id} is already settled; cannot {verb}");
                if (settles) settled = true;
            }
        }

        private JToken State(object state) => Json.From(state, serializer);

        /// <summary>Still working: moves the deadline and saves <paramref name="state"/> as the checkpoint (touch + state).</summary>
        public async Task Acknowledge(object state)
        {
            Claim("acknowledge", false);
            var json = State(state);
            var deadline = await owner.SettleAsync("touch", Id, json, null).ConfigureAwait(false);
            Checkpoint = new JsonData(json, serializer);
            if (deadline.HasValue) SetDeadline(deadline.Value);
        }

        /// <summary>Still working: moves the deadline, keeps the checkpoint.</summary>
        public async Task Touch()
        {
            Claim("touch", false);
            var deadline = await owner.SettleAsync("touch", Id, null, null).ConfigureAwait(false);
            if (deadline.HasValue) SetDeadline(deadline.Value);
        }

        /// <summary>Done. <paramref name="state"/>, if given, is checked (at most 64 KiB) and dropped with the message: a finished message keeps no checkpoint.</summary>
        public Task Finish(object state = null)
        {
            Claim("finish", true);
            return owner.SettleAsync("fin", Id, state == null ? null : State(state), null);
        }

        /// <summary>Gives the message back for later (after <paramref name="delay"/>) with a checkpoint; not a failure.</summary>
        public Task Shelve(object state = null, TimeSpan? delay = null)
        {
            Claim("shelve", true);
            return owner.SettleAsync("shelve", Id, state == null ? null : State(state), Ms(delay));
        }

        /// <summary>Failed: requeue (after <paramref name="delay"/>), or dead-letter once MaxAttempts failures are reached.</summary>
        public Task Requeue(TimeSpan? delay = null, object state = null)
        {
            Claim("requeue", true);
            return owner.SettleAsync("req", Id, state == null ? null : State(state), Ms(delay));
        }

        /// <summary>Answers a request (a message with <see cref="Reply"/>); also finishes it.</summary>
        public Task Respond(object data, string contentType = null)
        {
            Claim("respond", true);
            return owner.RespondAsync(Id, State(data), contentType);
        }

        private static long? Ms(TimeSpan? delay) => delay.HasValue ? (long?)Math.Max(0, (long)delay.Value.TotalMilliseconds) : null;
    }
}
