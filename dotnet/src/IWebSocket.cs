using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Ismld
{
    /// <summary>What a subscriber needs from a WebSocket: text frames in and out, and the close code.</summary>
    internal interface IWebSocket : IDisposable
    {
        /// <summary>
        /// Opens the socket with these request headers. Throws <see cref="SocketUpgradeException"/>
        /// when the server answered the upgrade with another status (its status and body when
        /// the platform tells them; <see cref="System.Net.WebSockets.ClientWebSocket"/> on
        /// netstandard2.0 does not), or any exception when the server cannot be reached.
        /// </summary>
        Task ConnectAsync(Uri uri, IDictionary<string, string> headers, CancellationToken cancellationToken);

        /// <summary>Sends one text frame. Called by one sender at a time.</summary>
        Task SendAsync(string text, CancellationToken cancellationToken);

        /// <summary>The next whole text frame, or null when the socket closed (then see <see cref="CloseCode"/>).</summary>
        Task<string> ReceiveAsync(CancellationToken cancellationToken);

        /// <summary>Close code the peer sent (1006 when the socket failed without one).</summary>
        int CloseCode { get; }

        /// <summary>Close reason the peer sent.</summary>
        string CloseReason { get; }

        /// <summary>Starts a close handshake; the receive loop sees the peer's close.</summary>
        Task CloseAsync(int code, string reason);

        /// <summary>Drops the connection at once (a socket that never got welcomed).</summary>
        void Abort();
    }

    /// <summary>The server refused a WebSocket upgrade with an HTTP status.</summary>
    internal sealed class SocketUpgradeException : Exception
    {
        public SocketUpgradeException(int? status, string body, string message, Exception inner = null) : base(message, inner)
        {
            Status = status;
            Body = body;
        }

        /// <summary>HTTP status of the refusal, when the platform reports it.</summary>
        public int? Status { get; }

        /// <summary>Body of the refusal (a contract error body), when the platform reports it.</summary>
        public string Body { get; }
    }
}
