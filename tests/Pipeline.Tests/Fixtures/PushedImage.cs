using Pipeline.Oci;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// A test image pushed by <see cref="TestImages"/>: its reference and the digests of what was
/// pushed (index, if any, and each platform's manifest, config and layers).
/// </summary>
public sealed record PushedImage(
    string Registry,
    string Repository,
    string Tag,
    Digest? IndexDigest,
    byte[]? IndexBytes,
    IReadOnlyList<PushedManifest> Manifests)
{
    /// <summary><c>registry/repository:tag</c>.</summary>
    public string Reference => $"{Registry}/{Repository}:{Tag}";

    /// <summary><c>registry/repository@digest</c> of the top-level document (index, else the manifest).</summary>
    public string DigestReference => $"{Registry}/{Repository}@{TopDigest}";

    /// <summary>The digest the tag points to: the index's, or the single manifest's.</summary>
    public Digest TopDigest => IndexDigest ?? Manifests[0].ManifestDigest;

    /// <summary>The manifest for <paramref name="architecture"/> (and <paramref name="variant"/>, when given).</summary>
    public PushedManifest For(string architecture, string? variant = null) =>
        Manifests.SingleOrDefault(m => m.Architecture == architecture && (variant is null || m.Variant == variant))
        ?? throw new InvalidOperationException(
            $"{Reference} has no {architecture}{(variant is null ? "" : "/" + variant)} manifest (has {string.Join(", ", Manifests.Select(m => m.Platform))}).");
}
