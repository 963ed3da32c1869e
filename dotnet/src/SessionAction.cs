using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>What a <see cref="ConsumerSession"/> asks its driver to do.</summary>
    internal abstract class SessionAction
    {
        /// <summary>Send this text frame on the socket.</summary>
        public sealed class Send : SessionAction { public string Frame; }

        /// <summary>The server accepted <c>hello</c>.</summary>
        public sealed class Welcome : SessionAction
        {
            public string Session;
            public long HeartbeatMs;
            public int? Partition;
            public int? Partitions;
            public bool Batch;
        }

        /// <summary>Run the handler for this message.</summary>
        public sealed class Deliver : SessionAction
        {
            public string Id;
            public long Seq;
            public int Partition;
            public int Attempt;
            public int Failures;
            public long Deadline;
            public bool Reply;
            public JToken Checkpoint;
            public JToken Event;
        }

        /// <summary>Complete the call with this ref.</summary>
        public sealed class Answer : SessionAction
        {
            public long Ref;
            public bool Ok;
            public string Code;
            public string Message;
            public long? Deadline;
        }

        /// <summary>These messages were lost with the socket: cancel their handlers' tokens (the server redelivers them).</summary>
        public sealed class Abort : SessionAction { public string[] Ids; }

        /// <summary>A server error not tied to a call of ours.</summary>
        public sealed class Error : SessionAction { public string Code; public string Message; }

        /// <summary>Close the socket.</summary>
        public sealed class Close : SessionAction { public int Code; public string Reason; }

        /// <summary>Open a new socket after this delay.</summary>
        public sealed class Reconnect : SessionAction { public long AfterMs; }

        /// <summary>The session stopped for good (bad credentials, no permission, channel deleted, refused settings).</summary>
        public sealed class Fatal : SessionAction { public string Code; public string Message; }
    }
}
