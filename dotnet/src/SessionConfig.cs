namespace Ismld
{
    /// <summary>One consumer socket's settings, as the <see cref="ConsumerSession"/> uses them.</summary>
    internal sealed class SessionConfig
    {
        public string Login;
        public string Secret;
        public string Token;
        public string ClientId;
        /// <summary>Credit (<c>rdy</c>) while healthy: this socket's share of MaxInFlight.</summary>
        public int MaxInFlight = 1;
        public long HandlerTimeoutMs = 60000;
        public int MaxAttempts;
        public long HeartbeatMs = 30000;
        public long BackoffMs = 5000;
        public long ReconnectMinMs = 500;
        public long ReconnectMaxMs = 30000;
        /// <summary>Most frames kept while disconnected (sent after the next welcome).</summary>
        public int QueueCap = 1000;
        /// <summary>Ask for <c>msgs</c> frames in <c>hello</c> (a v1 server ignores the field).</summary>
        public bool Batch = true;
        /// <summary>Partition of this socket, or null on a socket opened without <c>?partition=</c>.</summary>
        public int? Partition;
        /// <summary>A close with 4001 reconnects once (a token provider may give a fresh token) before it is final.</summary>
        public bool RetryUnauthorizedOnce;

        public SessionConfig Copy() => (SessionConfig)MemberwiseClone();
    }
}
