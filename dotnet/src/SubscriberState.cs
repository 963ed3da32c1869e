namespace Ismld
{
    /// <summary>Where a <see cref="Subscriber"/> stands.</summary>
    public enum SubscriberState
    {
        /// <summary>Made, not started.</summary>
        Idle,
        /// <summary>Opening its socket(s).</summary>
        Connecting,
        /// <summary>Every socket welcomed: messages flow.</summary>
        Connected,
        /// <summary>A socket was lost; reconnecting with backoff.</summary>
        Disconnected,
        /// <summary>Stopped by <see cref="Subscriber.Stop"/>, by the connection, or for good (bad credentials, no permission, channel deleted).</summary>
        Stopped,
    }
}
