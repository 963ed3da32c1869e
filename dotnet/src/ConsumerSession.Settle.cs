using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>
    /// Settling from the consumer's side: fin / touch / req / shelve and <c>respond</c>, each
    /// checked against what is in flight on this socket, sent at once or coalesced
    /// (<c>ConsumerSession.Batch.cs</c>) when the server takes <c>ids</c> frames.
    /// </summary>
    internal sealed partial class ConsumerSession
    {
        /// <summary>
        /// fin / touch / req / shelve of a message (<paramref name="verb"/> is the wire verb).
        /// Returns the ref whose <see cref="SessionAction.Answer"/> completes the call, and
        /// what to do now. A stateless fin or req may wait for an outstanding one of its kind
        /// and then go in one <c>ids</c> frame, when the server takes them.
        /// </summary>
        public (long Ref, List<SessionAction> Actions) Settle(string verb, string id, JToken state, long? delayMs)
        {
            var finishing = verb != "touch";
            var (r, refused) = Claim(id, finishing);
            if (refused != null) return (r, new List<SessionAction> { refused });
            if (ServerBatch && state == null && (verb == "fin" || verb == "req")) return (r, Coalesce(verb, id, r, delayMs));
            var frame = new JObject { ["op"] = verb, ["id"] = id };
            if (delayMs.HasValue) frame["delay_ms"] = delayMs.Value;
            if (state != null) frame["state"] = state;
            frame["ref"] = r;
            return (r, new List<SessionAction> { Send(frame) });
        }

        /// <summary><c>respond</c> to a message delivered with <c>"reply": true</c> (also finishes it).</summary>
        public (long Ref, List<SessionAction> Actions) Respond(string id, JToken data, string contentType)
        {
            var (r, refused) = Claim(id, true);
            if (refused != null) return (r, new List<SessionAction> { refused });
            var frame = new JObject { ["op"] = "respond", ["id"] = id, ["data"] = data ?? JValue.CreateNull() };
            if (contentType != null) frame["datacontenttype"] = contentType;
            frame["ref"] = r;
            return (r, new List<SessionAction> { Send(frame) });
        }

        /// <summary>
        /// Takes a ref for a frame about message <paramref name="id"/>, checking that it is in
        /// flight on this socket (a message of a lost socket is the server's to redeliver).
        /// <paramref name="finishing"/> takes it out of flight at once, so a second settle is
        /// refused here.
        /// </summary>
        private (long, SessionAction) Claim(string id, bool finishing)
        {
            var r = nextRef++;
            SessionAction refused = null;
            if (Phase != SessionPhase.Live)
                refused = Refuse(r, "disconnected", $"message {id} was lost with the connection; it will be redelivered");
            else if (!inFlight.Contains(id))
                refused = Refuse(r, "not_found", $"message {id} is not in flight (already settled?)");
            if (refused != null) return (r, refused);
            pending[r] = new Pending { Returns = finishing ? id : null };
            if (finishing) inFlight.Remove(id);
            return (r, null);
        }
    }
}
