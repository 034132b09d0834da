using System.Text.Json;

namespace DeviceAgent.Api;

/// <summary>
/// The answer to <c>POST /api/devices/{device_id}/instances/{instance_id}/plan</c> (API.md
/// "Devices", README "Devices"): what the instance should run and, in <see cref="Blobs"/>, only
/// what this device lacks, each with a short-lived, Range-capable URL. <see cref="Layers"/> lists
/// every layer in order (the ones the device has included), so a version can be assembled and
/// checked from the store alone. A disabled instance has a null <see cref="ContainerVersion"/>.
/// </summary>
internal sealed record PlanResponse(
    int? ContainerVersion,
    string? Arch,
    string? ManifestDigest,
    BlobDescriptor? Config,
    IReadOnlyList<BlobDescriptor>? Layers,
    BlobDescriptor? Env,
    string? EnvUrl,
    PlanNetwork? Network,
    JsonElement? ConfigMap,
    IReadOnlyList<PlanBlob>? Blobs,
    long BytesTotal,
    long BytesToDownload,
    DateTimeOffset? UrlsExpireAt);

/// <summary>A blob's descriptor in the contract's spelling.</summary>
internal sealed record BlobDescriptor(string Digest, long Size, string MediaType);

/// <summary>A blob the device lacks and where to read it (HTTP Range works, the URL expires).</summary>
internal sealed record PlanBlob(string Digest, long Size, string MediaType, string Url);

/// <summary>How the device sets up the instance's networking: the node service's settings and the instance's LAN.</summary>
internal sealed record PlanNetwork(string? WanConfigureNetwork, string? LanConfigureNetwork, bool Masquerade, PlanLan? Lan);

/// <summary>The instance's LAN allocation (API.md <c>LanAllocation</c>).</summary>
internal sealed record PlanLan(string InterfaceAddress, string Subnet, string? DhcpRangeStart, string? DhcpRangeEnd);

/// <summary>The body of the plan request: the digests the device's content store already holds.</summary>
internal sealed record PlanRequest(IReadOnlyList<string> Have);
