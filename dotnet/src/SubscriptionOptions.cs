using System;

namespace Ismld
{
    /// <summary>What a <see cref="Subscriber"/> consumes, and how.</summary>
    public sealed class SubscriptionOptions
    {
        /// <summary>Topic name (without the connection's prefix).</summary>
        public string Topic { get; set; }

        /// <summary>Channel name (without the prefix); may end in <c>#ephemeral</c>.</summary>
        public string Channel { get; set; }

        /// <summary>In-flight deadline of each message (1 s..1 h): the message's <c>CancellationToken</c> is cancelled then. Default 60 s.</summary>
        public TimeSpan HandlerTimeout { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>Messages handled at once (1..2,500), spread over the partitions of a partitioned topic (at least 1 each). Default 1.</summary>
        public int MaxInFlight { get; set; } = 1;

        /// <summary>Overrides the connection's <see cref="IsmlConnectionOptions.MaxAttempts"/> for this subscriber.</summary>
        public int? MaxAttempts { get; set; }
    }
}
