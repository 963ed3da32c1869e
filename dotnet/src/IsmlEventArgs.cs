using System;

namespace Ismld
{
    /// <summary>Which connection event happened.</summary>
    internal enum IsmlEventKind { Connecting, Connected, Disconnected, Error }

    /// <summary>What a connection event carries (<see cref="IsmlConnection.Connected"/> and the others).</summary>
    public sealed class IsmlEventArgs : EventArgs
    {
        internal IsmlEventArgs(Subscriber subscriber, int? partition)
        {
            Subscriber = subscriber;
            Partition = partition;
        }

        /// <summary>The subscriber concerned (null for errors of the connection itself).</summary>
        public Subscriber Subscriber { get; }

        /// <summary>The partition of the socket concerned, on a partitioned topic.</summary>
        public int? Partition { get; }

        /// <summary>Server session id (Connected).</summary>
        public string Session { get; internal set; }

        /// <summary>Close code (Disconnected).</summary>
        public int Code { get; internal set; }

        /// <summary>Close reason (Disconnected).</summary>
        public string Reason { get; internal set; }

        /// <summary>When the socket is retried (Disconnected).</summary>
        public TimeSpan ReconnectIn { get; internal set; }

        /// <summary>What failed (Error): a fatal refusal, a handler's exception, a refused frame.</summary>
        public Exception Error { get; internal set; }
    }
}
