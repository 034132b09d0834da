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
    [property: JsonPropertyName("url")] string Url);

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

/// <summary>The body of <c>POST …/status</c>, validated.</summary>
public sealed record StatusReport(int ContainerVersion, string State, bool Healthy, string? Message);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(PlanResponse))]
[JsonSerializable(typeof(TargetResponse))]
internal sealed partial class DeviceJsonContext : JsonSerializerContext;
