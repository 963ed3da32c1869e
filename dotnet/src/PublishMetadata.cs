namespace Ismld
{
    /// <summary>What a publish answers, once the event is durable.</summary>
    public sealed class PublishMetadata
    {
        /// <summary>Wire name of the topic.</summary>
        public string Topic { get; set; }

        /// <summary>Message id: an opaque string, unique within the topic.</summary>
        public string MsgId { get; set; }

        /// <summary>Sequence number within the partition (1, 2, 3, ...).</summary>
        public long Seq { get; set; }

        /// <summary>Partition that took the event (0 on unpartitioned topics).</summary>
        public int Partition { get; set; }

        /// <summary>Whether the (source, id) pair had been accepted before (idempotent publish).</summary>
        public bool Duplicate { get; set; }

        /// <inheritdoc />
        public override string ToString() => $"{Topic} {MsgId} seq {Seq} partition {Partition}{(Duplicate ? " (duplicate)" : "")}";
    }
}
