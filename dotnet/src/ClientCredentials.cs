namespace Ismld
{
    /// <summary>
    /// Who the client is: a client's <see cref="Login"/> and <see cref="Secret"/> (made with
    /// <c>POST /v1/clients</c>), or a bearer <see cref="Token"/> from <c>POST /v1/tokens</c>.
    /// </summary>
    public sealed class ClientCredentials
    {
        /// <summary>The client's login.</summary>
        public string Login { get; set; }

        /// <summary>The client's secret (shown once when the client was made).</summary>
        public string Secret { get; set; }

        /// <summary>A bearer token instead of login and secret.</summary>
        public string Token { get; set; }

        /// <summary>Free-form id of this process, sent in every <c>hello</c> (optional).</summary>
        public string ClientId { get; set; }
    }
}
