using System.Text.RegularExpressions;

namespace Ismld
{
    /// <summary>Topic and channel names on the wire: the prefix, then the name, checked against the contract's grammar.</summary>
    internal static class Names
    {
        private static readonly Regex Grammar = new Regex(@"^[A-Za-z0-9._\-\[\]]{1,128}$", RegexOptions.CultureInvariant);
        private const string Ephemeral = "#ephemeral";

        /// <summary>The wire name of a topic (or of a channel, which may end in <c>#ephemeral</c>); throws <see cref="InvalidRequestException"/> (<c>invalid_name</c>).</summary>
        public static string Wire(string prefix, string name, bool channel)
        {
            if (string.IsNullOrEmpty(name)) throw new InvalidRequestException("invalid_name", (channel ? "channel" : "topic") + " name is empty");
            var wire = (prefix ?? "") + name;
            var core = channel && wire.EndsWith(Ephemeral) ? wire.Substring(0, wire.Length - Ephemeral.Length) : wire;
            if (!Grammar.IsMatch(core))
            {
                throw new InvalidRequestException("invalid_name",
                    $"{(channel ? "channel" : "topic")} name {wire} must match [A-Za-z0-9._-[]]{{1,128}}{(channel ? " (optionally ending in #ephemeral)" : "")}");
            }
            return wire;
        }
    }
}
