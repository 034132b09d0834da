using System.Text.Json;
using System.Text.Json.Serialization;

using Pipeline.Fleet.Instances;

namespace Pipeline.Api.Devices;

/// <summary>A recorded report, and the rollout orchestration it moved (null when it moved none).</summary>
public sealed record StatusOutcome(InstanceStatus Status, string? RolloutInstanceId);

/// <summary>
/// The answer to <c>POST /api/devices/{device_id}/instances/{instance_id}/plan</c> (API.md
/// "Devices"). Besides the contract's fields it carries what a device needs to assemble and check
/// the version: every layer in order (<see cref="Layers"/>, the blobs it already has included),
/// the env file's descriptor, the instance's <c>config_map</c>, and when the URLs expire.
/// For a disabled instance <see cref="ContainerVersion"/> is null and nothing is to be downloaded.
/// </summary>
public sealed record PlanResponse(
    [property: JsonPropertyName("container_version")] int? ContainerVersion,
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("manifest_digest")] string? ManifestDigest,
    [property: JsonPropertyName("config")] BlobDescriptor? Config,
    [property: JsonPropertyName("layers")] IReadOnlyList<BlobDescriptor> Layers,
    [property: JsonPropertyName("env")] BlobDescriptor? Env,
    [property: JsonPropertyName("env_url")] string? EnvUrl,
    [property: JsonPropertyName("network")] PlanNetwork? Network,
    [property: JsonPropertyName("config_map")] JsonElement? ConfigMap,
    [property: JsonPropertyName("blobs")] IReadOnlyList<PlanBlob> Blobs,
    [property: JsonPropertyName("bytes_total")] long BytesTotal,
    [property: JsonPropertyName("bytes_to_download")] long BytesToDownload,
    [property: JsonPropertyName("urls_expire_at")] DateTimeOffset? UrlsExpireAt);

/// <summary>A blob's descriptor in the contract's spelling.</summary>
public sealed record BlobDescriptor(
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("media_type")] string MediaType);

/// <summary>A blob the device lacks and the URL to read it from (Range requests work).</summary>
public sealed record PlanBlob(
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("media_type")] string MediaType,
    [property: JsonPropertyName("url")] string Url)
{
    /// <summary>Only for a device that sent <c>"accept": ["chunks"]</c>, and only for an indexed layer worth it; absent otherwise.</summary>
    [JsonPropertyName("chunks")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PlanChunks? Chunks { get; init; }
}

/// <summary>How the device sets up the instance's networking: the node service's settings and the instance's LAN.</summary>
public sealed record PlanNetwork(
    [property: JsonPropertyName("wan_configure_network")] string WanConfigureNetwork,
    [property: JsonPropertyName("lan_configure_network")] string LanConfigureNetwork,
    [property: JsonPropertyName("masquerade")] bool Masquerade,
    [property: JsonPropertyName("lan")] PlanLan? Lan);

/// <summary>The instance's LAN allocation (API.md <c>LanAllocation</c>).</summary>
public sealed record PlanLan(
    [property: JsonPropertyName("interface_address")] string InterfaceAddress,
    [property: JsonPropertyName("subnet")] string Subnet,
    [property: JsonPropertyName("dhcp_range_start")] string? DhcpRangeStart,
    [property: JsonPropertyName("dhcp_range_end")] string? DhcpRangeEnd);

/// <summary>The answer to <c>GET /api/devices/{device_id}/target</c>.</summary>
public sealed record TargetResponse([property: JsonPropertyName("instances")] IReadOnlyList<TargetInstance> Instances);

/// <summary>One instance the device should run, and the version it should run (null: disabled).</summary>
public sealed record TargetInstance(
    [property: JsonPropertyName("node_service_instance_id")] string NodeServiceInstanceId,
    [property: JsonPropertyName("node_service_id")] string NodeServiceId,
    [property: JsonPropertyName("container_version")] int? ContainerVersion,
    [property: JsonPropertyName("plan_url")] string PlanUrl);

/// <summary>The body of <c>POST …/plan</c>, validated: what the device holds, and whether it takes chunk deltas.</summary>
public sealed record PlanRequest(IReadOnlySet<Pipeline.Oci.Digest> Have, bool AcceptChunks)
{
    public const string Chunks = "chunks";
}

/// <summary>
/// How to fetch a layer as chunks (README "Chunk deltas"): the tar it rebuilds to, its contents'
/// casync index, its headers stream, its pack of zstd frames and the pack's table, and the bytes
/// the server expects the device to fetch.
/// </summary>
public sealed record PlanChunks(
    [property: JsonPropertyName("diff_id")] string DiffId,
    [property: JsonPropertyName("tar_size")] long TarSize,
    [property: JsonPropertyName("index")] PlanPart Index,
    [property: JsonPropertyName("headers")] PlanPart Headers,
    [property: JsonPropertyName("pack")] PlanPack Pack,
    [property: JsonPropertyName("pack_table")] PlanPart PackTable,
    [property: JsonPropertyName("bytes_to_download")] long BytesToDownload);

/// <summary>A small part of a chunked layer, verified by its digest.</summary>
public sealed record PlanPart(
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("url")] string Url);

/// <summary>A layer's pack: read with <c>Range</c>; each chunk verifies by its id.</summary>
public sealed record PlanPack(
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("url")] string Url);

/// <summary>The body of <c>POST …/status</c>, validated.</summary>
public sealed record StatusReport(int ContainerVersion, string State, bool Healthy, string? Message);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(PlanResponse))]
[JsonSerializable(typeof(TargetResponse))]
internal sealed partial class DeviceJsonContext : JsonSerializerContext;
