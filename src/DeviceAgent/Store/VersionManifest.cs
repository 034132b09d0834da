using DeviceAgent.Api;

namespace DeviceAgent.Store;

/// <summary>
/// <c>manifest.json</c> of an installed version: what the plan said the version is (image
/// manifest digest, arch, config and layers in order, the env file), so the store can tell which
/// blobs a kept version needs and a runtime can assemble the root filesystem without the network.
/// </summary>
internal sealed record VersionManifest(
    int ContainerVersion,
    string Arch,
    string ManifestDigest,
    BlobDescriptor Config,
    IReadOnlyList<BlobDescriptor> Layers,
    BlobDescriptor? Env,
    DateTimeOffset InstalledAt)
{
    /// <summary>The config and the layers: the blobs in <c>blobs/</c> this version needs.</summary>
    public IEnumerable<string> BlobDigests => Layers.Select(l => l.Digest).Prepend(Config.Digest);
}
