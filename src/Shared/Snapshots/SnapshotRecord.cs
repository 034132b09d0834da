using System.Text.Json.Serialization;
using Pipeline.Oci;

namespace Pipeline.Snapshots;

/// <summary>
/// An immutable version of a node service: for each architecture the manifest, config and layer
/// descriptors whose blobs are in the snapshot store; the settings; the networking fixed by the
/// first import; the rendered <c>lxc.env</c> (a blob too). Never changed once written.
/// </summary>
public sealed record SnapshotRecord(
    [property: JsonPropertyName("container_version")] int ContainerVersion,
    [property: JsonPropertyName("node_service_id")] string NodeServiceId,
    [property: JsonPropertyName("import_id")] string ImportId,
    [property: JsonPropertyName("created")] DateTimeOffset Created,
    [property: JsonPropertyName("architectures")] IReadOnlyList<ArchSnapshot> Architectures,
    [property: JsonPropertyName("settings")] ServiceSettings Settings,
    [property: JsonPropertyName("network")] NodeServiceNetwork Network,
    [property: JsonPropertyName("env")] Descriptor EnvFile);

/// <summary>One architecture of a version.</summary>
public sealed record ArchSnapshot(
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("image_reference")] string ImageReference,
    [property: JsonPropertyName("manifest")] Descriptor Manifest,
    [property: JsonPropertyName("config")] Descriptor Config,
    [property: JsonPropertyName("layers")] IReadOnlyList<Descriptor> Layers);

[JsonSerializable(typeof(SnapshotRecord))]
[JsonSerializable(typeof(List<Descriptor>))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;
