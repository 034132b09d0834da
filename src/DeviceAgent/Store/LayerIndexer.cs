using DeviceAgent.Progress;
using Pipeline.Chunking;
using ZstdSharp;

namespace DeviceAgent.Store;

/// <summary>
/// Makes a layer that arrived whole (an older server, no <c>chunks</c> in the plan, or a
/// fallback) a seed for the next delta: its tar (decompressed per media type) is split into
/// headers and contents, the contents are chunked with casync's defaults (16/64/256 KiB, the
/// sizes the server indexes with) into the seed store, and the index and headers go into the
/// layer's folder. One streaming pass; memory is one chunk and a few buffers. A layer that cannot
/// be indexed (a media type that is no layer, bytes that do not decompress) only costs its seeds.
/// </summary>
internal sealed class LayerIndexer(ContentStore store, AgentLog log)
{
    /// <summary>zstd level of the kept headers stream: small, and fast on a small CPU.</summary>
    private const int HeadersLevel = 3;

    /// <summary>Indexes the whole layer <paramref name="digest"/> from <c>blobs/</c> unless it is indexed or not a layer; true when its seeds are there.</summary>
    public async Task<bool> EnsureIndexedAsync(BlobDigest digest, string mediaType, CancellationToken cancellationToken)
    {
        if (store.Layers.IsIndexed(digest))
        {
            return true;
        }
        if (LayerMediaTypes.Of(mediaType) is not { } compression || !File.Exists(store.BlobPath(digest)))
        {
            return false;
        }
        string staging = store.Layers.NewStaging(digest);
        try
        {
            TarSplitResult split;
            await using (var blob = new FileStream(store.BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024))
            await using (var tar = LayerMediaTypes.OpenTar(blob, compression))
            await using (var index = new FileStream(Path.Combine(staging, LayerStore.IndexName), FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
            await using (var headersFile = new FileStream(Path.Combine(staging, LayerStore.HeadersName), FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                using var codec = new ChunkCodec();
                var writer = new CaibxWriter(index, ChunkSizes.Default);
                var chunking = new ChunkingStream(ChunkSizes.Default, chunk => writer.Add(store.Layers.Seeds.Put(codec, chunk), chunk.Length));
                await using (var headers = new CompressionStream(headersFile, HeadersLevel, leaveOpen: true))
                {
                    split = await TarSplit.SplitAsync(tar, chunking, headers, cancellationToken).ConfigureAwait(false);
                }
                chunking.Complete();
                writer.Complete();
                index.Flush(flushToDisk: true);
                headersFile.Flush(flushToDisk: true);
            }
            var diffId = BlobDigest.FromHash(split.TarSha256);
            store.Layers.Commit(digest, staging, new LayerInfo(digest.ToString(), mediaType, diffId.ToString(), split.TarLength, LayerInfo.HeldAsBlob, DateTimeOffset.UtcNow));
            log.Info($"{digest.Short}: indexed as seeds for later deltas ({DiskSpace.Format(split.TarLength)} tar, diff_id {diffId.Short})");
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is IOException or InvalidDataException or ZstdException or UnauthorizedAccessException)
        {
            LayerStore.DeleteFolder(staging);
            log.Warn($"{digest.Short}: could not index the layer for chunk deltas ({e.Message}); later versions download it whole");
            return false;
        }
        catch
        {
            LayerStore.DeleteFolder(staging);
            throw;
        }
    }
}
