using System;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>
    /// A JSON value from the bus (a message's payload or checkpoint, a response's data), read
    /// into your own type with <see cref="CastTo{T}"/>.
    /// </summary>
    public sealed class JsonData
    {
        private readonly JsonSerializer serializer;
        private readonly byte[] bytes;

        internal JsonData(JToken token, JsonSerializer serializer, byte[] bytes = null)
        {
            Token = token;
            this.serializer = serializer;
            this.bytes = bytes;
        }

        /// <summary>The JSON value (null when there is none).</summary>
        public JToken Token { get; }

        /// <summary>Whether there is no value (absent, or JSON <c>null</c>).</summary>
        public bool IsNull => Token == null || Token.Type == JTokenType.Null;

        /// <summary>
        /// The value as a <typeparamref name="T"/> (with the connection's JSON settings), or
        /// <c>default(T)</c> when there is none: so
        /// <c>message.Checkpoint.CastTo&lt;Progress&gt;() ?? new Progress()</c> starts afresh.
        /// </summary>
        public T CastTo<T>()
        {
            if (IsNull) return default(T);
            if (bytes != null && typeof(T) == typeof(byte[])) return (T)(object)bytes;
            return Token.ToObject<T>(serializer);
        }

        /// <summary>
        /// The value as bytes: the decoded <c>data_base64</c> of a binary event, the UTF-8 of
        /// a text value, else the UTF-8 of the JSON text.
        /// </summary>
        public byte[] Bytes
        {
            get
            {
                if (bytes != null) return bytes;
                if (IsNull) return new byte[0];
                if (Token.Type == JTokenType.String) return Encoding.UTF8.GetBytes((string)Token);
                return Encoding.UTF8.GetBytes(ToString());
            }
        }

        /// <summary>Compact JSON text of the value (<c>null</c> when there is none).</summary>
        public override string ToString() => Json.Encode(Token);
    }
}
