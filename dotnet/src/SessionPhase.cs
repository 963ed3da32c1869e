namespace Ismld
{
    /// <summary>Where a <see cref="ConsumerSession"/> stands.</summary>
    internal enum SessionPhase
    {
        /// <summary>No socket (not started, or waiting to reconnect).</summary>
        Disconnected,
        /// <summary>Socket open, <c>hello</c> sent, no <c>welcome</c> yet.</summary>
        Handshake,
        /// <summary>Welcomed: messages may arrive.</summary>
        Live,
        /// <summary>Stopped by the application or by a fatal close; never reconnects.</summary>
        Stopped,
    }
}
