using System.Buffers.Binary;
using System.Collections.Concurrent;
using Pipeline.Api.Devices;
using Pipeline.Chunking;
using Pipeline.Oci;
using Pipeline.Snapshots;

namespace Pipeline.Deltas;

/// <summary>
/// The chunk part of a plan for one layer: when the layer is indexed, the parts a device needs
/// and the bytes it should fetch given the layers it holds (their chunks are its seeds). When
/// that would be more than half the layer's compressed size, the layer is offered whole. Indexes
/// and tables are immutable and read once per process (a bounded cache).
/// </summary>
public sealed class ChunkPlanner(BlobSnapshotStore blobs, LayerIndexStore indexes)
{
    private const int MaxCached = 1024;

    private readonly ConcurrentDictionary<Digest, LayerChunks> _cache = new();

    private sealed record LayerChunks(ChunkId[] Ids, uint[] Frames);

    public async Task<PlanChunks?> ForAsync(Descriptor layer, IReadOnlySet<Digest> have, DownloadUrls urls, CancellationToken cancellationToken)
    {
        if (await indexes.GetAsync(layer.Digest, cancellationToken).ConfigureAwait(false) is not { } record)
        {
            return null;
        }
        var target = await LoadAsync(record, cancellationToken).ConfigureAwait(false);
        var seeds = new HashSet<ChunkId>();
        foreach (var held in have)
        {
            if (await indexes.GetAsync(held, cancellationToken).ConfigureAwait(false) is { } heldRecord)
            {
                seeds.UnionWith((await LoadAsync(heldRecord, cancellationToken).ConfigureAwait(false)).Ids);
            }
        }
        long missing = 0;
        for (int i = 0; i < target.Ids.Length; i++)
        {
            // A chunk fetched once serves every later entry with the same id.
            if (seeds.Add(target.Ids[i]))
            {
                missing += target.Frames[i];
            }
        }
        long bytes = record.Index.Size + record.Headers.Size + record.PackTable.Size + missing;
        if (bytes * 2 > layer.Size)
        {
            return null;
        }
        return new PlanChunks(
            record.DiffId.ToString(),
            record.TarSize,
            Part(record.Index, urls),
            Part(record.Headers, urls),
            new PlanPack(record.PackSize, urls.ForBlob(LayerIndexStore.PackBlobName(layer.Digest)).ToString()),
            Part(record.PackTable, urls),
            bytes);
    }

    private static PlanPart Part(Descriptor d, DownloadUrls urls) => new(d.Digest.ToString(), d.Size, urls.For(d.Digest).ToString());

    private async Task<LayerChunks> LoadAsync(LayerIndexRecord record, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(record.Layer, out var cached))
        {
            return cached;
        }
        var index = await blobs.Blob(record.Index.Digest).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        var caibx = await CaibxReader.ReadAsync(index.Value.Content.ToStream(), cancellationToken: cancellationToken).ConfigureAwait(false);
        var table = (await blobs.Blob(record.PackTable.Digest).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToArray();
        var frames = new uint[table.Length / 4];
        for (int i = 0; i < frames.Length; i++)
        {
            frames[i] = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i * 4));
        }
        var chunks = new LayerChunks(caibx.Entries.Select(e => e.Id).ToArray(), frames);
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }
        _cache[record.Layer] = chunks;
        return chunks;
    }
}
