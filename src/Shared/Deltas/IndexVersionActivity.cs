using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Pipeline.Oci;
using Pipeline.Snapshots;

namespace Pipeline.Deltas;

/// <summary>A committed version whose layers to index.</summary>
public sealed record IndexVersionInput(string NodeServiceId, int Version);

/// <summary>
/// Indexes every layer of a committed version for chunk deltas, one at a time (memory stays one
/// layer's pipeline, whatever the image), pairing each layer with its config's
/// <c>rootfs.diff_ids</c>. Runs after the commit and never delays it; a layer that cannot be
/// indexed is logged and simply offered whole. Layers indexed before (by any version) are skipped.
/// </summary>
public sealed partial class IndexVersionActivity(SnapshotRecordStore versions, BlobSnapshotStore blobs, LayerIndexer indexer, ILogger<IndexVersionActivity> logger)
    : TaskActivity<IndexVersionInput, int>
{
    public override async Task<int> RunAsync(TaskActivityContext context, IndexVersionInput input)
    {
        var ct = CancellationToken.None;
        var record = await versions.GetAsync(input.NodeServiceId, input.Version, ct).ConfigureAwait(false);
        if (record is null)
        {
            return 0;
        }
        int indexed = 0;
        var done = new HashSet<Digest>();
        foreach (var arch in record.Architectures)
        {
            var diffIds = await DiffIdsAsync(arch.Config, ct).ConfigureAwait(false);
            if (diffIds.Count != arch.Layers.Count)
            {
                LogNoDiffIds(logger, input.NodeServiceId, input.Version, arch.Arch);
                continue;
            }
            for (int i = 0; i < arch.Layers.Count; i++)
            {
                if (!done.Add(arch.Layers[i].Digest))
                {
                    continue;
                }
                try
                {
                    indexed += await indexer.IndexAsync(arch.Layers[i], diffIds[i], ct).ConfigureAwait(false) ? 1 : 0;
                }
                catch (Exception e) when (e is PipelineException or InvalidDataException or Chunking.TarRebuildException or IOException or ZstdSharp.ZstdException)
                {
                    LogNotIndexed(logger, arch.Layers[i].Digest.ToString(), e.Message);
                }
            }
        }
        return indexed;
    }

    private async Task<IReadOnlyList<Digest>> DiffIdsAsync(Descriptor config, CancellationToken ct)
    {
        var content = await blobs.Blob(config.Digest).DownloadContentAsync(ct).ConfigureAwait(false);
        using var json = JsonDocument.Parse(content.Value.Content.ToMemory());
        if (!json.RootElement.TryGetProperty("rootfs", out var rootfs) || !rootfs.TryGetProperty("diff_ids", out var ids) || ids.ValueKind != JsonValueKind.Array)
        {
            return [];
        }
        var result = new List<Digest>();
        foreach (var id in ids.EnumerateArray())
        {
            try
            {
                result.Add(Digest.Parse(id.GetString()));
            }
            catch (PipelineException)
            {
                return [];
            }
        }
        return result;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Version {Version} of {NodeServiceId} ({Arch}): the config's diff_ids do not pair with the layers; not indexed")]
    private static partial void LogNoDiffIds(ILogger logger, string nodeServiceId, int version, string arch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Layer {Layer} not indexed: {Reason}; plans offer it whole")]
    private static partial void LogNotIndexed(ILogger logger, string layer, string reason);
}
