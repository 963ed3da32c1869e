using System;

namespace Ismld
{
    /// <summary>Options of one publish.</summary>
    public sealed class PublishOptions
    {
        /// <summary>Events with the same key are delivered in order, one at a time per channel.</summary>
        public string OrderingKey { get; set; }

        /// <summary>Deliver no earlier than this from now (at most 7 days).</summary>
        public TimeSpan? Delay { get; set; }

        /// <summary>
        /// The event's id. With an id the client sends a whole CloudEvent, so the publish is
        /// idempotent (deduplicated by source + id) and safely retried after a network error;
        /// without one the bus makes the event and its id.
        /// </summary>
        public string Id { get; set; }

        /// <summary>CloudEvent <c>type</c> (with <see cref="Id"/>). Default: the topic's wire name.</summary>
        public string Type { get; set; }

        /// <summary>CloudEvent <c>subject</c> (with <see cref="Id"/>).</summary>
        public string Subject { get; set; }

        /// <summary>Content type of a string or byte[] body. Default <c>text/plain; charset=utf-8</c> for strings, <c>application/octet-stream</c> for bytes, <c>application/json</c> for other values.</summary>
        public string ContentType { get; set; }
    }
}
