using System;
using System.Collections.Generic;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Ismld
{
    /// <summary><see cref="IWebSocket"/> over the platform's <see cref="ClientWebSocket"/>.</summary>
    internal sealed class ClientWebSocketAdapter : IWebSocket
    {
        private readonly ClientWebSocket ws = new ClientWebSocket();
        private readonly byte[] buffer = new byte[16 * 1024];

        public int CloseCode { get; private set; } = 1006;

        public string CloseReason { get; private set; } = "";

        public async Task ConnectAsync(Uri uri, IDictionary<string, string> headers, CancellationToken cancellationToken)
        {
            foreach (var h in headers) ws.Options.SetRequestHeader(h.Key, h.Value);
            // Keep-alive is the protocol's own ping; the platform's would only add noise.
            ws.Options.KeepAliveInterval = TimeSpan.Zero;
            try
            {
                await ws.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            }
            catch (WebSocketException e)
            {
                // netstandard2.0 does not expose the refusal's status or body: the subscriber asks over HTTP.
                throw new SocketUpgradeException(null, null, e.Message, e);
            }
        }

        public Task SendAsync(string text, CancellationToken cancellationToken)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            return ws.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true, cancellationToken);
        }

        public async Task<string> ReceiveAsync(CancellationToken cancellationToken)
        {
            using (var message = new MemoryStream())
            {
                while (true)
                {
                    WebSocketReceiveResult r;
                    try
                    {
                        r = await ws.ReceiveAsync(new ArraySegment<byte>(buffer), cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception) when (!cancellationToken.IsCancellationRequested)
                    {
                        CloseCode = 1006;
                        CloseReason = "connection lost";
                        return null;
                    }
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        CloseCode = r.CloseStatus.HasValue ? (int)r.CloseStatus.Value : 1005;
                        CloseReason = r.CloseStatusDescription ?? "";
                        return null;
                    }
                    message.Write(buffer, 0, r.Count);
                    if (r.EndOfMessage) return Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                }
            }
        }

        public async Task CloseAsync(int code, string reason)
        {
            try
            {
                if (ws.State == WebSocketState.Open || ws.State == WebSocketState.CloseReceived)
                {
                    using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
                    {
                        await ws.CloseOutputAsync((WebSocketCloseStatus)code, reason, cts.Token).ConfigureAwait(false);
                    }
                }
                else
                {
                    ws.Abort();
                }
            }
            catch (Exception)
            {
                ws.Abort();
            }
        }

        public void Abort() => ws.Abort();

        public void Dispose() => ws.Dispose();
    }
}
