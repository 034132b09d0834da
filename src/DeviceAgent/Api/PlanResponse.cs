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

/// <summary>
/// A blob the device lacks and where to read it (HTTP Range works, the URL expires). A layer may
/// carry <see cref="Chunks"/> when the request accepted <c>chunks</c>: the delta against the
/// chunks the device holds; <see cref="Url"/> stays the whole layer, the fallback.
/// </summary>
internal sealed record PlanBlob(string Digest, long Size, string MediaType, string Url, PlanChunks? Chunks = null);

/// <summary>
/// A layer as a chunk delta: the tar's <c>diff_id</c> and length, the casync index of its contents
/// stream, its tar-split headers stream (one zstd frame), and the pack of every index entry's
/// chunk (one zstd frame each, in index order, Range-capable) with its table of frame lengths.
/// </summary>
internal sealed record PlanChunks(
    string DiffId,
    long TarSize,
    ChunkFile Index,
    ChunkFile Headers,
    ChunkPack Pack,
    ChunkFile PackTable,
    long BytesToDownload);

/// <summary>A small file of a chunk delta, verified by its digest.</summary>
internal sealed record ChunkFile(string Digest, long Size, string Url);

/// <summary>The pack of a chunk delta: read with Range requests; each chunk is verified by its id.</summary>
internal sealed record ChunkPack(long Size, string Url);

/// <summary>How the device sets up the instance's networking: the node service's settings and the instance's LAN.</summary>
internal sealed record PlanNetwork(string? WanConfigureNetwork, string? LanConfigureNetwork, bool Masquerade, PlanLan? Lan);

/// <summary>The instance's LAN allocation (API.md <c>LanAllocation</c>).</summary>
internal sealed record PlanLan(string InterfaceAddress, string Subnet, string? DhcpRangeStart, string? DhcpRangeEnd);

/// <summary>
/// The body of the plan request: the digests the device holds (a layer counts whether it is kept
/// compressed or as its rebuilt tar) and, unless switched off, <c>"accept": ["chunks"]</c>.
/// Without <see cref="Accept"/> the field is left out and the answer is the plain delta.
/// </summary>
internal sealed record PlanRequest(
    IReadOnlyList<string> Have,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<string>? Accept = null);
