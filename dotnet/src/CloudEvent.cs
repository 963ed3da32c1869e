using System;
using System.Collections.Generic;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Ismld
{
    /// <summary>
    /// A CloudEvents 1.0 event in the JSON format. <see cref="Data"/> holds JSON data,
    /// <see cref="DataBase64"/> binary data; every other attribute (<c>orderingkey</c>,
    /// <c>deliverafter</c>, your own) is an extension in <see cref="Extensions"/>.
    /// </summary>
    public sealed class CloudEvent
    {
        /// <summary><c>specversion</c>: always "1.0".</summary>
        [JsonProperty("specversion")] public string SpecVersion { get; set; } = "1.0";

        /// <summary><c>id</c>: with <see cref="Source"/>, what the bus deduplicates on.</summary>
        [JsonProperty("id")] public string Id { get; set; }

        /// <summary><c>source</c>, a URI reference such as <c>/shop</c>.</summary>
        [JsonProperty("source")] public string Source { get; set; }

        /// <summary><c>type</c>, such as <c>order.created</c>.</summary>
        [JsonProperty("type")] public string Type { get; set; }

        /// <summary><c>subject</c> (optional).</summary>
        [JsonProperty("subject", NullValueHandling = NullValueHandling.Ignore)] public string Subject { get; set; }

        /// <summary><c>time</c>, RFC 3339 text (optional; the bus adds its acceptance time when absent).</summary>
        [JsonProperty("time", NullValueHandling = NullValueHandling.Ignore)] public string Time { get; set; }

        /// <summary><c>datacontenttype</c> (optional), e.g. <c>application/json</c>.</summary>
        [JsonProperty("datacontenttype", NullValueHandling = NullValueHandling.Ignore)] public string DataContentType { get; set; }

        /// <summary><c>dataschema</c> (optional).</summary>
        [JsonProperty("dataschema", NullValueHandling = NullValueHandling.Ignore)] public string DataSchema { get; set; }

        /// <summary><c>data</c>: any JSON value (or none).</summary>
        [JsonProperty("data", NullValueHandling = NullValueHandling.Ignore)] public JToken Data { get; set; }

        /// <summary><c>data_base64</c>: binary data, base64 (instead of <see cref="Data"/>).</summary>
        [JsonProperty("data_base64", NullValueHandling = NullValueHandling.Ignore)] public string DataBase64 { get; set; }

        /// <summary>Extension attributes, such as <c>orderingkey</c> and <c>deliverafter</c>.</summary>
        [JsonExtensionData] public IDictionary<string, JToken> Extensions { get; set; } = new Dictionary<string, JToken>();

        /// <summary>The <c>orderingkey</c> extension (null when absent).</summary>
        [JsonIgnore]
        public string OrderingKey
        {
            get => Extensions != null && Extensions.TryGetValue("orderingkey", out var k) && k.Type == JTokenType.String ? (string)k : null;
            set
            {
                if (Extensions == null) Extensions = new Dictionary<string, JToken>();
                if (value == null) Extensions.Remove("orderingkey");
                else Extensions["orderingkey"] = value;
            }
        }

        /// <summary>This event as JSON text.</summary>
        public string ToJson() => JsonConvert.SerializeObject(this, Formatting.None, Settings);

        /// <summary>Reads an event from a JSON object.</summary>
        public static CloudEvent FromJson(JToken json) => json?.ToObject<CloudEvent>(JsonSerializer.Create(Settings));

        internal static readonly JsonSerializerSettings Settings = new JsonSerializerSettings
        {
            DateParseHandling = DateParseHandling.None,
        };
    }
}
