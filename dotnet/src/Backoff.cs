using System;

namespace Ismld
{
    /// <summary>
    /// The two backoffs of a subscriber, as pure arithmetic (the same numbers as the JS
    /// client's core, src/client/backoff.rs).
    /// Handler backoff: after a handler throws, no new deliveries for the base delay,
    /// doubling on each further failure up to 60 s, reset by a success.
    /// Reconnect backoff: "full jitter", a uniform random delay under a cap that doubles from
    /// the floor, so clients cut off together do not come back together.
    /// </summary>
    internal static class Backoff
    {
        /// <summary>Longest handler backoff.</summary>
        public const long MaxHandlerBackoffMs = 60000;

        /// <summary>Handler backoff after <paramref name="failures"/> consecutive failures (0 = none).</summary>
        public static long HandlerDelay(long baseMs, int failures)
        {
            if (failures <= 0 || baseMs <= 0) return 0;
            var shift = Math.Min(failures - 1, 20);
            return Math.Min(baseMs * (1L << shift), Math.Max(MaxHandlerBackoffMs, baseMs));
        }

        /// <summary>Reconnect delay before attempt <paramref name="attempt"/> (0 = first retry), with <paramref name="random"/> in [0, 1).</summary>
        public static long ReconnectDelay(long minMs, long maxMs, int attempt, double random)
        {
            var cap = Math.Min(Math.Max(minMs, 1) * (1L << Math.Min(attempt, 20)), Math.Max(maxMs, minMs));
            var r = double.IsNaN(random) || double.IsInfinity(random) ? 0.5 : Math.Max(0.0, Math.Min(1.0, random));
            // Never zero: a server that refuses at once must not be hammered in a loop.
            return Math.Max(Math.Max((long)(cap * r), Math.Min(minMs, cap) / 4), 1);
        }
    }
}
