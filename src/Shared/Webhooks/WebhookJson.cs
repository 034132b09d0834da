using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Oci;

namespace Pipeline.Webhooks;

/// <summary>
/// What the five webhook payload parsers share: reading a body into a JSON object, fetching values
/// by a dotted path that the error message names (<c>repository.repo_name: missing</c>), and checking
/// tags, digests, repositories and hosts the way the rest of the pipeline will use them.
/// </summary>
internal static partial class WebhookJson
{
    private static readonly JsonDocumentOptions Options = new()
    {
        MaxDepth = 64,
        // Two values for one key would let whatever checked the body and this parser disagree on what was pushed.
        AllowDuplicateProperties = false,
    };

    // Only what the pipeline can import: single-platform manifests and indexes, Docker and OCI
    // (https://github.com/opencontainers/image-spec/blob/main/media-types.md). Schema 1 and
    // provider-specific types (Helm charts in ACR) are not images it can pull.
    private static readonly HashSet<string> ManifestMediaTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        MediaTypes.DockerManifest, MediaTypes.DockerManifestList, MediaTypes.OciManifest, MediaTypes.OciIndex,
    };

    /// <summary>Parses the body; anything but a JSON object is BAD_INPUT. The caller disposes the document.</summary>
    public static JsonDocument ParseObject(ReadOnlyMemory<byte> body)
    {
        // A UTF-8 byte order mark is legal in a JSON text on the wire but not to Utf8JsonReader.
        if (body.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            body = body[3..];
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, Options);
        }
        catch (JsonException e)
        {
            throw Bad("body", $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = document.RootElement.ValueKind;
            document.Dispose();
            throw Bad("body", $"expected a JSON object, found {Describe(kind)}");
        }
        return document;
    }

    /// <summary>
    /// The value at <paramref name="path"/> (dot-separated property names) below <paramref name="start"/>, or
    /// null when it or a parent is absent or JSON null. A parent that is not an object is BAD_INPUT.
    /// <paramref name="prefix"/> is how <paramref name="start"/> itself is named in messages (e.g. <c>events[2]</c>).
    /// </summary>
    public static JsonElement? Find(JsonElement start, string path, string? prefix = null)
    {
        JsonElement current = start;
        string walked = prefix ?? "";
        foreach (string name in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object)
            {
                throw Bad(walked, $"expected an object, found {Describe(current.ValueKind)}");
            }
            walked = walked.Length == 0 ? name : $"{walked}.{name}";
            if (!current.TryGetProperty(name, out current) || current.ValueKind == JsonValueKind.Null)
            {
                return null;
            }
        }
        return current;
    }

    /// <summary>A string at the path; null when absent; BAD_INPUT when present but not a string.</summary>
    public static string? OptionalString(JsonElement start, string path, string? prefix = null) =>
        Find(start, path, prefix) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } e => e.GetString(),
            { } e => throw Bad(Name(prefix, path), $"expected a string, found {Describe(e.ValueKind)}"),
        };

    /// <summary>A non-empty string at the path, else BAD_INPUT naming it.</summary>
    public static string RequiredString(JsonElement start, string path, string? prefix = null) =>
        OptionalString(start, path, prefix) is { Length: > 0 } s ? s : throw Bad(Name(prefix, path), "missing");

    /// <summary>An array at the path; null when absent; BAD_INPUT when present but not an array.</summary>
    public static JsonElement? OptionalArray(JsonElement start, string path, string? prefix = null) =>
        Find(start, path, prefix) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Array } e => e,
            { } e => throw Bad(Name(prefix, path), $"expected an array, found {Describe(e.ValueKind)}"),
        };

    /// <summary>
    /// A repository path as the distribution grammar allows it (lower-case components separated by '/').
    /// Providers only send such names; anything else could never match an image source.
    /// </summary>
    public static string Repository(string value, string field) =>
        value.Length <= 255 && value.Split('/').All(c => PathComponentPattern().IsMatch(c))
            ? value
            : throw Bad(field, $"'{Truncate(value)}' is not a repository name (lower-case path components separated by '/')");

    /// <summary>A tag, or null for absent or empty; anything outside the OCI tag grammar is BAD_INPUT.</summary>
    public static string? Tag(string? value, string field) =>
        string.IsNullOrEmpty(value) ? null
        : TagPattern().IsMatch(value) ? value
        : throw Bad(field, $"'{Truncate(value)}' is not a valid tag");

    /// <summary>
    /// A manifest digest. One that is not <c>sha256:</c> + 64 lower-case hex is dropped when the push also
    /// names a tag (the tag alone still identifies it) and is BAD_INPUT when it would be all there is.
    /// </summary>
    public static Digest? ManifestDigest(string? value, string field, bool hasTag)
    {
        if (Digest.TryParse(value, out var digest))
        {
            return digest;
        }
        if (hasTag)
        {
            return null;
        }
        throw string.IsNullOrEmpty(value)
            ? Bad(field, "missing, and there is no tag")
            : Bad(field, $"'{Truncate(value)}' is not sha256: followed by 64 lower-case hex characters, and there is no tag");
    }

    /// <summary>A registry host (name or IP, optional port), lower-cased; null when absent; else BAD_INPUT.</summary>
    public static string? Host(string? value, string field) =>
        string.IsNullOrEmpty(value) ? null
        : value.Length <= 255 && HostPattern().IsMatch(value) ? value.ToLowerInvariant()
        : throw Bad(field, $"'{Truncate(value)}' is not a registry host");

    /// <summary>Whether a media type (parameters ignored) is an image manifest or index.</summary>
    public static bool IsManifestMediaType(string? mediaType)
    {
        if (mediaType is null)
        {
            return false;
        }
        int semicolon = mediaType.IndexOf(';');
        return ManifestMediaTypes.Contains((semicolon < 0 ? mediaType : mediaType[..semicolon]).Trim());
    }

    /// <summary>An RFC 3339 / ISO 8601 time at the path; null when absent; BAD_INPUT when unreadable.</summary>
    public static DateTimeOffset? IsoTime(JsonElement start, string path, string? prefix = null)
    {
        string? text = OptionalString(start, path, prefix);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw Bad(Name(prefix, path), $"'{Truncate(text)}' is not an ISO 8601 time");
    }

    /// <summary>Unix seconds (integer or fractional) at the path; null when absent; BAD_INPUT when not a usable number.</summary>
    public static DateTimeOffset? UnixTime(JsonElement start, string path, string? prefix = null)
    {
        switch (Find(start, path, prefix))
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.Number } e when e.TryGetDouble(out double seconds) && seconds is >= 0 and < 253_402_300_800:
                return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
            case { ValueKind: JsonValueKind.Number }:
                throw Bad(Name(prefix, path), "not a time in unix seconds");
            case { } e:
                throw Bad(Name(prefix, path), $"expected unix seconds, found {Describe(e.ValueKind)}");
        }
    }

    public static PipelineException Bad(string field, string problem) => new(ErrorCodes.BadInput, $"{field}: {problem}.");

    public static string Name(string? prefix, string path) => string.IsNullOrEmpty(prefix) ? path : $"{prefix}.{path}";

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Truncate(string s) => s.Length > 80 ? s[..80] + "…" : s;

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex PathComponentPattern();

    // host[:port] where host is a DNS name, an IPv4 address or a bracketed IPv6 address.
    [GeneratedRegex(@"^(?:(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(?:\.(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*|\[[0-9A-Fa-f:.]+\])(?::[1-9][0-9]{0,4})?$")]
    private static partial Regex HostPattern();
}
