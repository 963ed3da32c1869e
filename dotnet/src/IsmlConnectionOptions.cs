using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;

namespace Ismld
{
    /// <summary>Options of an <see cref="IsmlConnection"/>. Only <see cref="Host"/> or <see cref="Url"/> is required.</summary>
    public sealed class IsmlConnectionOptions
    {
        /// <summary><c>host:port</c> of the bus, reached over plain <c>http</c>/<c>ws</c> (e.g. <c>127.0.0.1:8787</c>). A value with a scheme is taken as <see cref="Url"/>.</summary>
        public string Host { get; set; }

        /// <summary>Full base URL of the bus, <c>http://...</c> or <c>https://...</c>; wins over <see cref="Host"/>.</summary>
        public string Url { get; set; }

        /// <summary>Login and secret (or a token) of a client. None: anonymous, for a bus that allows it.</summary>
        public ClientCredentials ClientCredentials { get; set; }

        /// <summary>
        /// Gives a bearer token; called before every HTTP call and at every (re)connect of a
        /// subscriber. After a close with 4001 it is called again and the connection retried
        /// once; a second 4001 in a row is final. Wins over <see cref="ClientCredentials"/>'s
        /// login, secret and token.
        /// </summary>
        public Func<CancellationToken, Task<string>> TokenProvider { get; set; }

        /// <summary>Prepended to every topic and channel name before it reaches the wire (e.g. <c>[DEV]</c>). Default empty.</summary>
        public string NamePrefix { get; set; } = "";

        /// <summary>How often a subscriber sends <c>ping</c> (the server allows 5 s..120 s). Default 30 s.</summary>
        public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>First handler backoff after a handler throws: no new messages for this long, doubling up to 60 s, reset by a success. Default 5 s.</summary>
        public TimeSpan BackoffDuration { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>Failures after which the server dead-letters a message (0 = never). Default 0.</summary>
        public int MaxAttempts { get; set; }

        /// <summary>Reconnect backoff floor (full jitter under a cap doubling from here). Default 500 ms.</summary>
        public TimeSpan ReconnectMin { get; set; } = TimeSpan.FromMilliseconds(500);

        /// <summary>Reconnect backoff cap. Default 30 s.</summary>
        public TimeSpan ReconnectMax { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Longest wait for a subscriber's socket to open and be welcomed before it is dropped and retried. Default 10 s.</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary><c>source</c> of the events the client builds (publish with an id, batches). Default <c>/clients/{login}</c>, or <c>/ismld-dotnet</c>.</summary>
        public string Source { get; set; }

        /// <summary>JSON settings for your data, payloads and checkpoints. Default: camelCase member names, dates kept as text.</summary>
        public JsonSerializerSettings JsonSettings { get; set; }

        /// <summary>HTTP handler for publishes and requests (a proxy, a test double). Default: a new <see cref="HttpClientHandler"/>.</summary>
        public HttpMessageHandler HttpHandler { get; set; }

        /// <summary>Makes the subscribers' sockets (a test double). Default: <see cref="System.Net.WebSockets.ClientWebSocket"/>.</summary>
        internal Func<IWebSocket> WebSocketFactory { get; set; }

        internal IsmlConnectionOptions Copy() => (IsmlConnectionOptions)MemberwiseClone();
    }
}
