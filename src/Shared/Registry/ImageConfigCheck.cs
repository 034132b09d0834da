using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>The platform fields of an image config (https://github.com/opencontainers/image-spec/blob/main/config.md#properties).</summary>
internal sealed record ImageConfigDocument(
    [property: JsonPropertyName("architecture")] string? Architecture,
    [property: JsonPropertyName("os")] string? Os,
    [property: JsonPropertyName("variant")] string? Variant);

/// <summary>
/// Checks that an image config is for the requested architecture (API.md "Architectures";
/// TEST-MATRIX row 8): an index can say amd64 and point at an arm64 image.
/// </summary>
internal static class ImageConfigCheck
{
    /// <summary>The config's platform, or <c>ARCH_MISMATCH</c>; a warning is added for an armhf image without a variant.</summary>
    public static Platform Check(byte[] config, string arch, string what, List<string> warnings)
    {
        ImageConfigDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(config, RegistryJsonContext.Default.ImageConfigDocument);
        }
        catch (JsonException)
        {
            doc = null;
        }
        if (doc is null)
        {
            throw new PipelineException(ErrorCodes.ManifestInvalid, $"The config of {what} is not a valid image config JSON document.");
        }

        var platform = new Platform(doc.Os ?? "", doc.Architecture ?? "", string.IsNullOrEmpty(doc.Variant) ? null : doc.Variant);
        if (Architectures.Matches(arch, platform))
        {
            return platform;
        }
        if (arch == Architectures.Armhf && platform is { Os: "linux", Architecture: "arm", Variant: null })
        {
            warnings.Add($"The {arch} image {what} declares architecture 'arm' without a variant; it is assumed to be arm/v7.");
            return platform;
        }
        throw new PipelineException(
            ErrorCodes.ArchMismatch,
            $"The config of {what} says {Describe(platform)}, but {arch} ({Architectures.ToPlatform(arch)}) was requested.");
    }

    private static string Describe(Platform p) =>
        p.Os.Length == 0 && p.Architecture.Length == 0 ? "no platform" : p.ToString();
}
