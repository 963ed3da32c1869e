using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>
    /// Coalescing of settles (docs/PROTOCOL.md, "Batched frames"), offered by a bus whose
    /// <c>welcome</c> says <c>"batch": true</c>: a stateless fin or req is sent at once when no
    /// frame of its kind (verb and delay) is unanswered, else it waits, and everything that
    /// waited goes in one <c>ids</c> frame when the answer comes. No timer, no added latency
    /// at low rates; one frame per round trip at high rates. A v1 bus never sees an <c>ids</c>.
    /// </summary>
    internal sealed partial class ConsumerSession
    {
        /// <summary>Most ids in one batched frame (the contract's limit).</summary>
        public const int MaxBatchIds = 2500;

        /// <summary>Stateless fin or req of one kind: at most one frame outstanding, the rest wait and go together.</summary>
        private sealed class Lane
        {
            public string Verb;
            public long? DelayMs;
            public long? Outstanding;
            public readonly List<KeyValuePair<long, string>> Waiting = new List<KeyValuePair<long, string>>();
        }

        private readonly Dictionary<string, Lane> lanes = new Dictionary<string, Lane>();

        /// <summary>A stateless fin or req on a bus that takes <c>ids</c> frames.</summary>
        private List<SessionAction> Coalesce(string verb, string id, long r, long? delayMs)
        {
            var key = verb + "/" + (delayMs.HasValue ? delayMs.Value.ToString() : "");
            if (!lanes.TryGetValue(key, out var lane)) lanes[key] = lane = new Lane { Verb = verb, DelayMs = delayMs };
            pending.Remove(r);
            var call = new KeyValuePair<long, string>(r, id);
            if (lane.Outstanding.HasValue)
            {
                lane.Waiting.Add(call);
                return new List<SessionAction>();
            }
            return new List<SessionAction> { SendLaneFrame(key, lane, new List<KeyValuePair<long, string>> { call }) };
        }

        /// <summary>The outstanding frame of a lane was answered: send what waited, as one frame.</summary>
        private void LaneAnswered(Pending p, List<SessionAction> output)
        {
            if (p.Lane == null || !lanes.TryGetValue(p.Lane, out var lane)) return;
            lane.Outstanding = null;
            if (lane.Waiting.Count == 0 || Phase != SessionPhase.Live) return;
            var calls = lane.Waiting.Take(MaxBatchIds).ToList();
            lane.Waiting.RemoveRange(0, calls.Count);
            output.Add(SendLaneFrame(p.Lane, lane, calls));
        }

        /// <summary>Stopping: every waiting fin and req goes now, without waiting for its lane's answer.</summary>
        private void FlushLanes(List<SessionAction> output)
        {
            foreach (var entry in lanes)
            {
                var lane = entry.Value;
                while (lane.Waiting.Count > 0)
                {
                    var calls = lane.Waiting.Take(MaxBatchIds).ToList();
                    lane.Waiting.RemoveRange(0, calls.Count);
                    output.Add(SendLaneFrame(entry.Key, lane, calls));
                }
            }
        }

        private SessionAction SendLaneFrame(string key, Lane lane, List<KeyValuePair<long, string>> calls)
        {
            var frame = new JObject { ["op"] = lane.Verb };
            long frameRef;
            if (calls.Count == 1)
            {
                frameRef = calls[0].Key;
                frame["id"] = calls[0].Value;
                pending[frameRef] = new Pending { Returns = calls[0].Value, Lane = key };
            }
            else
            {
                frameRef = nextRef++;
                frame["ids"] = new JArray(calls.Select(c => (object)c.Value).ToArray());
                pending[frameRef] = new Pending { Calls = calls, Lane = key };
            }
            if (lane.DelayMs.HasValue) frame["delay_ms"] = lane.DelayMs.Value;
            frame["ref"] = frameRef;
            lane.Outstanding = frameRef;
            return Send(frame);
        }
    }
}
