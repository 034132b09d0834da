using Azure;
using Azure.Data.Tables;
using Pipeline.Oci;
using Pipeline.Storage;

namespace Pipeline.Deltas;

/// <summary>
/// <see cref="LayerIndexRecord"/>s (table <c>layerindexes</c>: partition = the layer's digest,
/// row empty). A record is written last, after every blob it names is stored and verified, so a
/// plan that finds one can hand its parts out. Records never change: found ones are kept in
/// process.
/// </summary>
public sealed class LayerIndexStore(PipelineStorage storage)
{
    public const string Table = "layerindexes";

    private const int MaxCached = 4096;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Digest, LayerIndexRecord> _cache = new();

    /// <summary>The blob, in the snapshots container, that holds a layer's pack.</summary>
    public static string PackBlobName(Digest layer) => "packs/" + layer.Hex;

    public async Task<LayerIndexRecord?> GetAsync(Digest layer, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(layer, out var cached))
        {
            return cached;
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(layer.ToString(), "", cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!row.HasValue || row.Value is not { } e)
        {
            return null;
        }
        var record = new LayerIndexRecord(
            layer,
            Digest.Parse(e.GetString("diff_id")!),
            e.GetInt64("tar_size") ?? 0,
            new Descriptor(Caibx, Digest.Parse(e.GetString("index_digest")!), e.GetInt64("index_size") ?? 0),
            new Descriptor(HeadersMediaType, Digest.Parse(e.GetString("headers_digest")!), e.GetInt64("headers_size") ?? 0),
            e.GetInt64("pack_size") ?? 0,
            new Descriptor(PackTableMediaType, Digest.Parse(e.GetString("table_digest")!), e.GetInt64("table_size") ?? 0),
            e.GetInt32("chunks") ?? 0,
            e.GetInt64("contents_size") ?? 0);
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }
        _cache[layer] = record;
        return record;
    }

    /// <summary>Records an index; one already there (another indexing of the same layer) is kept.</summary>
    public async Task AddAsync(LayerIndexRecord r, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var e = new TableEntity(r.Layer.ToString(), "")
        {
            ["diff_id"] = r.DiffId.ToString(),
            ["tar_size"] = r.TarSize,
            ["index_digest"] = r.Index.Digest.ToString(),
            ["index_size"] = r.Index.Size,
            ["headers_digest"] = r.Headers.Digest.ToString(),
            ["headers_size"] = r.Headers.Size,
            ["pack_size"] = r.PackSize,
            ["table_digest"] = r.PackTable.Digest.ToString(),
            ["table_size"] = r.PackTable.Size,
            ["chunks"] = r.Chunks,
            ["contents_size"] = r.ContentsSize,
        };
        try
        {
            await table.AddEntityAsync(e, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException x) when (x.Status == 409)
        {
        }
    }

    public const string Caibx = "application/vnd.casync.caibx";
    public const string HeadersMediaType = "application/vnd.pipeline.tar-split.v1+zstd";
    public const string PackTableMediaType = "application/vnd.pipeline.chunk-pack-table.v1";
}
