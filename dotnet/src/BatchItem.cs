using System;

namespace Ismld
{
    /// <summary>One event of <see cref="IsmlConnection.PublishBatchAsync(string, System.Collections.Generic.IEnumerable{BatchItem}, System.Threading.CancellationToken)"/>.</summary>
    public sealed class BatchItem
    {
        /// <summary>Makes an item with its data.</summary>
        public BatchItem(object data = null) { Data = data; }

        /// <summary>The event's data (any value Newtonsoft.Json can write).</summary>
        public object Data { get; set; }

        /// <summary>The event's id; generated when absent, so a retried batch is deduplicated.</summary>
        public string Id { get; set; }

        /// <summary>The event's ordering key.</summary>
        public string OrderingKey { get; set; }

        /// <summary>Deliver no earlier than this from now.</summary>
        public TimeSpan? Delay { get; set; }

        /// <summary>CloudEvent <c>type</c>. Default: the topic's wire name.</summary>
        public string Type { get; set; }

        /// <summary>CloudEvent <c>subject</c>.</summary>
        public string Subject { get; set; }
    }
}
