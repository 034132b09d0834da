using Pipeline.Oci;

namespace Pipeline.Imports;

/// <summary>One blob of an import and how far its copy has come.</summary>
public sealed record LayerProgress(Digest Digest, long Size, long BytesDone);

/// <summary>An import as <c>DM_get_import</c> shows it.</summary>
public sealed record ImportView(
    string ImportId,
    string CustomerId,
    string NodeServiceId,
    string Name,
    string Status,
    int? ContainerVersion,
    IReadOnlyList<LayerProgress> Layers,
    IReadOnlyList<string> Warnings,
    string? ErrorCode,
    string? ErrorMessage)
{
    /// <summary>Bytes read from the registry (blobs already stored are not fetched); set when completed.</summary>
    public long? BytesFetched { get; init; }

    /// <summary>When any record of the import last changed (its state or a blob's progress), as storage stamped it.</summary>
    public DateTimeOffset? LastChange { get; init; }

    public long BytesTotal => Layers.Sum(l => l.Size);

    public long BytesDone => Layers.Sum(l => Math.Min(l.BytesDone, l.Size));

    public int LayersDone => Layers.Count(l => l.BytesDone >= l.Size);
}
