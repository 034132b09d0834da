using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>
/// The fields of an image index or image manifest this client reads
/// (https://github.com/opencontainers/image-spec/blob/main/image-index.md, manifest.md; Docker schema2).
/// Anything else (annotations, descriptor <c>urls</c>, …) is ignored.
/// </summary>
internal sealed record ManifestDocument(
    [property: JsonPropertyName("schemaVersion")] int? SchemaVersion,
    [property: JsonPropertyName("mediaType")] string? MediaType,
    [property: JsonPropertyName("config")] Descriptor? Config,
    [property: JsonPropertyName("layers")] IReadOnlyList<Descriptor>? Layers,
    [property: JsonPropertyName("manifests")] IReadOnlyList<Descriptor>? Manifests);

/// <summary>A manifest body as fetched and checked: its effective media type, digest and size.</summary>
internal sealed record FetchedManifest(string MediaType, Digest Digest, long Size, ManifestDocument Document)
{
    public bool IsIndex => MediaTypes.IsIndex(MediaType);
}

/// <summary>Parses and validates a manifest body (TEST-MATRIX rows 7 and 9).</summary>
internal static class ManifestParser
{
    /// <summary>Whether a media type is Docker schema1, which is refused with a message saying so.</summary>
    public static void RejectSchema1(string? mediaType, string what)
    {
        if (MediaTypes.IsSchema1(mediaType))
        {
            throw Schema1(what);
        }
    }

    /// <summary>The effective media type and the document; <c>MANIFEST_INVALID</c> if it is not a valid index or image manifest.</summary>
    public static (string MediaType, ManifestDocument Document) Parse(byte[] body, string? contentType, string what)
    {
        string? headerType = Normalise(contentType);
        RejectSchema1(headerType, what);
        ManifestDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(body, RegistryJsonContext.Default.ManifestDocument);
        }
        catch (JsonException)
        {
            doc = null;
        }
        if (doc is null)
        {
            throw Invalid(what, "it is not a valid manifest JSON document");
        }
        if (doc.SchemaVersion == 1 || MediaTypes.IsSchema1(doc.MediaType))
        {
            throw Schema1(what);
        }
        if (doc.SchemaVersion != 2)
        {
            throw Invalid(what, "schemaVersion must be 2");
        }
        if (doc.Manifests is not null && doc.Layers is not null)
        {
            throw Invalid(what, "it has both 'manifests' and 'layers', so it is neither a valid index nor a valid manifest");
        }
        if (!string.IsNullOrEmpty(doc.MediaType) && headerType is not null && !IsUntyped(headerType) && doc.MediaType != headerType)
        {
            throw Invalid(what, $"its mediaType '{doc.MediaType}' differs from the Content-Type '{headerType}' the registry sent");
        }

        string mediaType = !string.IsNullOrEmpty(doc.MediaType) ? doc.MediaType
            : headerType is not null && !IsUntyped(headerType) ? headerType
            : doc.Manifests is not null ? MediaTypes.OciIndex : MediaTypes.OciManifest;

        if (MediaTypes.IsIndex(mediaType))
        {
            if (doc.Manifests is null)
            {
                throw Invalid(what, "an index without 'manifests'");
            }
            ValidateDescriptors(doc.Manifests, what, "manifests");
        }
        else if (MediaTypes.IsManifest(mediaType))
        {
            if (doc.Config is null || doc.Layers is null || doc.Manifests is not null)
            {
                throw Invalid(what, "an image manifest needs 'config' and 'layers'");
            }
            ValidateDescriptors([doc.Config], what, "config");
            ValidateDescriptors(doc.Layers, what, "layers");
        }
        else
        {
            throw Invalid(what, $"media type '{mediaType}' is not an OCI or Docker schema2 image index or manifest");
        }
        return (mediaType, doc);
    }

    private static void ValidateDescriptors(IReadOnlyList<Descriptor?> descriptors, string what, string field)
    {
        foreach (var d in descriptors)
        {
            if (d is null || d.Digest.IsEmpty || d.Size < 0 || string.IsNullOrEmpty(d.MediaType))
            {
                throw Invalid(what, $"an entry of '{field}' lacks a mediaType, a sha256 digest or a non-negative size");
            }
        }
    }

    // Some registries serve every manifest as plain JSON; then only the document's own mediaType counts.
    private static bool IsUntyped(string mediaType) => mediaType is "application/json" or "application/octet-stream" or "text/plain";

    private static string? Normalise(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }
        int semicolon = contentType.IndexOf(';');
        return (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim().ToLowerInvariant();
    }

    private static PipelineException Schema1(string what) => new(
        ErrorCodes.ManifestInvalid,
        $"{what} is a Docker schema1 manifest, which is unsupported (deprecated since 2017); push the image again with a current tool to get an OCI or Docker schema2 manifest.");

    public static PipelineException Invalid(string what, string why) => new(ErrorCodes.ManifestInvalid, $"{what} is invalid: {why}.");
}
