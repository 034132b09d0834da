using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Fleet.Instances;

/// <summary>
/// An instance's <c>config_map</c> (the <c>JSON</c> scalar): a JSON object the API reads as
/// dictionaries, lists and primitives and the catalog stores as JSON text.
/// </summary>
public static class ConfigMapJson
{
    /// <summary>A table property holds 64 KiB (32 Ki UTF-16 characters); leave room for the rest of the row.</summary>
    public const int MaxChars = 30_000;

    private const int MaxDepth = 32;

    /// <summary>JSON text of a <c>config_map</c> argument (null stays null); <c>BAD_INPUT</c> unless it is an object.</summary>
    public static string? ToJson(object? value, string field = "config_map")
    {
        if (value is null)
        {
            return null;
        }
        if (ToNode(value, field, 0) is not JsonObject node)
        {
            throw new PipelineException(ErrorCodes.BadInput, $"{field}: must be a JSON object such as {{\"key\": \"value\"}}.");
        }
        string json = node.ToJsonString();
        return json.Length <= MaxChars
            ? json
            : throw new PipelineException(ErrorCodes.TooLarge, $"{field}: {json.Length} characters of JSON; at most {MaxChars}.");
    }

    /// <summary>The stored text as the values the <c>JSON</c> scalar writes: dictionaries, lists, strings, numbers, booleans.</summary>
    public static object? ToValue(string? json) =>
        string.IsNullOrEmpty(json) ? null : FromNode(JsonNode.Parse(json));

    private static JsonNode? ToNode(object? value, string field, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new PipelineException(ErrorCodes.BadInput, $"{field}: nested deeper than {MaxDepth} levels.");
        }
        return value switch
        {
            null => null,
            string s => JsonValue.Create(s),
            bool b => JsonValue.Create(b),
            int i => JsonValue.Create(i),
            long l => JsonValue.Create(l),
            short or byte or sbyte or ushort or uint => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
            ulong u => JsonValue.Create(u),
            double d when double.IsFinite(d) => JsonValue.Create(d),
            float f when float.IsFinite(f) => JsonValue.Create(f),
            decimal m => JsonValue.Create(m),
            BigInteger n => JsonNode.Parse(n.ToString(CultureInfo.InvariantCulture)),
            JsonElement e => JsonNode.Parse(e.GetRawText()),
            JsonNode n => n.DeepClone(),
            IDictionary<string, object?> map => new JsonObject(map.Select(kv => KeyValuePair.Create(kv.Key, ToNode(kv.Value, $"{field}.{kv.Key}", depth + 1)))),
            IEnumerable list => new JsonArray(list.Cast<object?>().Select((x, i) => ToNode(x, $"{field}[{i}]", depth + 1)).ToArray()),
            _ => throw new PipelineException(ErrorCodes.BadInput, $"{field}: a value of type {value.GetType().Name} is not JSON."),
        };
    }

    private static object? FromNode(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => FromNode(kv.Value)),
        JsonArray a => a.Select(FromNode).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => v.TryGetValue(out long l) ? l : v.TryGetValue(out decimal m) ? m : v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
