using Pipeline.Oci;

namespace Pipeline.Tests.Fixtures;

/// <summary>One platform's image manifest of a pushed test image, read back from the built OCI layout.</summary>
public sealed record PushedManifest(
    string Architecture,
    string Os,
    string? Variant,
    Digest ManifestDigest,
    long ManifestSize,
    string ManifestMediaType,
    byte[] ManifestBytes,
    Digest ConfigDigest,
    long ConfigSize,
    string ConfigMediaType,
    byte[] ConfigBytes,
    IReadOnlyList<PushedLayer> Layers)
{
    /// <summary><c>os/architecture[/variant]</c>.</summary>
    public string Platform => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    /// <summary>The manifest and all layers' sizes plus the config's: what a full copy transfers.</summary>
    public long TotalSize => ManifestSize + ConfigSize + Layers.Sum(l => l.Size);
}
