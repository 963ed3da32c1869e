using System;
using System.IO;
using System.Reflection;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Newtonsoft.Json.Serialization;

namespace Ismld
{
    /// <summary>
    /// JSON for the wire and for user data (Newtonsoft.Json, any version from 6.0). Frames are
    /// read with date parsing off, so an event's <c>time</c> or a string in its data reaches
    /// the handler exactly as it was sent.
    /// </summary>
    internal static class Json
    {
        /// <summary>The serializer for user data when the options give none: camelCase member names.</summary>
        public static readonly JsonSerializerSettings DefaultSettings = new JsonSerializerSettings
        {
            ContractResolver = new CamelCaseMembers(),
            DateParseHandling = DateParseHandling.None,
            NullValueHandling = NullValueHandling.Include,
        };

        /// <summary>Parses JSON text without turning date-like strings into dates.</summary>
        public static JToken Parse(string text)
        {
            using (var reader = new JsonTextReader(new StringReader(text)) { DateParseHandling = DateParseHandling.None })
            {
                var token = JToken.ReadFrom(reader);
                while (reader.Read())
                {
                    if (reader.TokenType != JsonToken.Comment) throw new JsonReaderException("text after the JSON value");
                }
                return token;
            }
        }

        /// <summary>Compact JSON text of a token (<c>null</c> for none).</summary>
        public static string Encode(JToken token) => token == null ? "null" : token.ToString(Formatting.None);

        /// <summary>A user value as a JSON token (a token stays itself).</summary>
        public static JToken From(object value, JsonSerializer serializer)
        {
            if (value == null) return JValue.CreateNull();
            if (value is JToken t) return t;
            if (value is JsonData d) return d.Token ?? JValue.CreateNull();
            return JToken.FromObject(value, serializer);
        }

        /// <summary>A string field of an object, or null.</summary>
        public static string Str(JObject o, string name)
        {
            var t = o[name];
            return t == null || t.Type == JTokenType.Null ? null : (string)t;
        }

        /// <summary>An integer field of an object, or null.</summary>
        public static long? Long(JObject o, string name)
        {
            var t = o[name];
            if (t == null || (t.Type != JTokenType.Integer && t.Type != JTokenType.Float)) return null;
            return (long)t;
        }

        /// <summary>A boolean field of an object, or null.</summary>
        public static bool? Bool(JObject o, string name)
        {
            var t = o[name];
            return t == null || t.Type != JTokenType.Boolean ? (bool?)null : (bool)t;
        }
    }

    /// <summary>
    /// camelCase names for members without an explicit <c>[JsonProperty("name")]</c>, so
    /// <c>new OnPingSentMessage { Message = "Hi" }</c> is <c>{"message":"Hi"}</c> on the
    /// wire, as a JS peer expects. Dictionary keys are kept as they are.
    /// </summary>
    internal sealed class CamelCaseMembers : DefaultContractResolver
    {
        protected override JsonProperty CreateProperty(MemberInfo member, MemberSerialization memberSerialization)
        {
            var property = base.CreateProperty(member, memberSerialization);
            var explicitName = member.GetCustomAttribute<JsonPropertyAttribute>(true);
            if ((explicitName == null || explicitName.PropertyName == null) && !string.IsNullOrEmpty(property.PropertyName))
            {
                property.PropertyName = Camel(property.PropertyName);
            }
            return property;
        }

        private static string Camel(string name)
        {
            if (!char.IsUpper(name[0])) return name;
            var chars = name.ToCharArray();
            for (var i = 0; i < chars.Length && char.IsUpper(chars[i]); i++)
            {
                // "URLValue" -> "urlValue": lower the run of capitals but the last one before a lower-case letter.
                if (i > 0 && i + 1 < chars.Length && !char.IsUpper(chars[i + 1])) break;
                chars[i] = char.ToLowerInvariant(chars[i]);
            }
            return new string(chars);
        }
    }
}
