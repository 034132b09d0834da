using System.Text.Json;
using Pipeline.Fleet.Instances;
using Pipeline.Oci;

namespace Pipeline.Api.Devices;

/// <summary>
/// Reads the JSON bodies of the device routes. Anything malformed is <c>BAD_INPUT</c> naming the
/// field (<c>have[3]: …</c>), so a device maker sees at once what to fix.
/// </summary>
public static class DeviceRequests
{
    /// <summary>A device never needs to name more blobs than this in one plan request.</summary>
    public const int MaxHave = 10_000;

    /// <summary>
    /// The digests of a plan request's <c>have</c> (absent, null or an empty body: none).
    /// </summary>
    public static IReadOnlySet<Digest> ParsePlan(ReadOnlyMemory<byte> body) => ParsePlanRequest(body).Have;

    /// <summary>
    /// A plan request: <c>have</c>, and <c>accept</c>, the optional extensions the device
    /// understands (<c>"chunks"</c>); unknown extensions are ignored, so newer devices keep working.
    /// </summary>
    public static PlanRequest ParsePlanRequest(ReadOnlyMemory<byte> body)
    {
        using var doc = ParseObject(body);
        bool chunks = false;
        if (doc is not null && doc.RootElement.TryGetProperty("accept", out var accept) && accept.ValueKind != JsonValueKind.Null)
        {
            if (accept.ValueKind != JsonValueKind.Array || accept.GetArrayLength() > 16 || accept.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
            {
                throw new PipelineException(ErrorCodes.BadInput, "accept: must be a short list of extension names such as [\"chunks\"].");
            }
            chunks = accept.EnumerateArray().Any(a => a.GetString() == PlanRequest.Chunks);
        }
        return new PlanRequest(ParseHave(doc), chunks);
    }

    private static IReadOnlySet<Digest> ParseHave(JsonDocument? doc)
    {
        var have = new HashSet<Digest>();
        if (doc is null || !doc.RootElement.TryGetProperty("have", out var list) || list.ValueKind == JsonValueKind.Null)
        {
            return have;
        }
        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new PipelineException(ErrorCodes.BadInput, "have: must be a list of digests such as [\"sha256:…\"].");
        }
        if (list.GetArrayLength() > MaxHave)
        {
            throw new PipelineException(ErrorCodes.BadInput, $"have: {list.GetArrayLength()} digests; at most {MaxHave}.");
        }
        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !Digest.TryParse(item.GetString(), out var digest))
            {
                throw new PipelineException(ErrorCodes.BadInput, $"have[{i}]: {Shown(item)} is not a digest (sha256: followed by 64 lower-case hex characters).");
            }
            have.Add(digest);
            i++;
        }
        return have;
    }

    /// <summary>A status report: <c>container_version</c> and <c>state</c> are required, <c>healthy</c> defaults to false.</summary>
    public static StatusReport ParseStatus(ReadOnlyMemory<byte> body)
    {
        using var doc = ParseObject(body) ?? throw new PipelineException(ErrorCodes.BadInput, "The body must be a JSON object: {\"container_version\", \"state\", \"healthy\", \"message\"}.");
        var root = doc.RootElement;
        if (!root.TryGetProperty("container_version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version) || version < 1)
        {
            throw new PipelineException(ErrorCodes.BadInput, "container_version: must be a version number (a whole number from 1).");
        }
        if (!root.TryGetProperty("state", out var s) || s.ValueKind != JsonValueKind.String || !InstanceStatus.States.Contains(s.GetString()!))
        {
            throw new PipelineException(ErrorCodes.BadInput, $"state: must be one of {string.Join(", ", InstanceStatus.States)}.");
        }
        bool healthy = false;
        if (root.TryGetProperty("healthy", out var h) && h.ValueKind != JsonValueKind.Null)
        {
            healthy = h.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new PipelineException(ErrorCodes.BadInput, "healthy: must be true or false."),
            };
        }
        string? message = null;
        if (root.TryGetProperty("message", out var m) && m.ValueKind != JsonValueKind.Null)
        {
            message = m.ValueKind == JsonValueKind.String ? m.GetString() : throw new PipelineException(ErrorCodes.BadInput, "message: must be a string.");
            if (message!.Length > InstanceStatus.MaxMessageChars)
            {
                throw new PipelineException(ErrorCodes.BadInput, $"message: {message.Length} characters; at most {InstanceStatus.MaxMessageChars}.");
            }
        }
        return new StatusReport(version, s.GetString()!, healthy, message);
    }

    /// <summary>The body as a JSON object, or null for an empty body.</summary>
    private static JsonDocument? ParseObject(ReadOnlyMemory<byte> body)
    {
        if (body.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return null;
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            throw new PipelineException(ErrorCodes.BadInput, "The body is not valid JSON.");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new PipelineException(ErrorCodes.BadInput, "The body must be a JSON object.");
        }
        return doc;
    }

    private static string Shown(JsonElement item)
    {
        string text = item.GetRawText();
        return text.Length > 80 ? text[..80] + "…" : text;
    }
}
