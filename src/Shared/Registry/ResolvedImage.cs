using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>
/// One architecture of an image, resolved from its tag or digest down to its layers
/// (https://github.com/opencontainers/image-spec/blob/main/manifest.md). <see cref="Reference"/> is the
/// reference as given; <see cref="Manifest"/> is the per-architecture image manifest actually fetched.
/// </summary>
public sealed record ResolvedImage(
    ImageReference Reference,
    string Arch,
    Descriptor Manifest,
    Descriptor Config,
    IReadOnlyList<Descriptor> Layers)
{
    /// <summary>Things the user should know that did not fail the resolution (e.g. an armhf image without a variant).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
