using System.IO.Compression;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Pipeline.Chunking;
using Pipeline.Oci;
using Pipeline.Snapshots;
using Pipeline.Storage;

namespace Pipeline.Deltas;

/// <summary>
/// Indexes one stored layer for chunk deltas, streaming: reads the verified blob, decompresses it
/// (gzip, zstd or a plain tar), splits the tar into contents and headers, chunks and compresses
/// the contents into the layer's pack, and checks that the tar hashes to the config's
/// <c>diff_id</c>. Only then are the pack committed, the index, headers and table stored
/// content-addressed, and the record written: a plan never offers an index that did not verify.
/// </summary>
public sealed partial class LayerIndexer(PipelineStorage storage, BlobSnapshotStore blobs, LayerIndexStore indexes, ILogger<LayerIndexer> logger)
{
    /// <summary>zstd level of the headers stream: every device taking a delta downloads it, so worth the CPU.</summary>
    private const int HeadersLevel = 19;

    /// <summary>log2 of the headers stream's zstd window (1 MiB).</summary>
    private const int HeadersWindowLog = 20;

    /// <summary>log2 of the entries in the headers stream's zstd hash and match-chain tables.</summary>
    private const int HeadersTableLog = 18;

    /// <summary>Block buffers of packs, one per layer being indexed at once.</summary>
    private readonly System.Collections.Concurrent.ConcurrentBag<MemoryStream> _packBuffers = [];

    /// <summary>Layer media types whose bytes are a tar, compressed or not.</summary>
    public static bool IsIndexable(string mediaType) => mediaType is MediaTypes.OciLayerGzip or MediaTypes.DockerLayerGzip or MediaTypes.OciLayerZstd or MediaTypes.OciLayerTar;

    /// <summary>Indexes <paramref name="layer"/> unless it is already; false when its media type is not a tar.</summary>
    public async Task<bool> IndexAsync(Descriptor layer, Digest diffId, CancellationToken cancellationToken)
    {
        if (!IsIndexable(layer.MediaType))
        {
            return false;
        }
        if (await indexes.GetAsync(layer.Digest, cancellationToken).ConfigureAwait(false) is not null)
        {
            return true;
        }
        // The pack's block buffer is kept for the next layer: a new one per layer is a large object
        // each time, left for a full collection, and the process grew by a block per layer indexed.
        var packBuffer = _packBuffers.TryTake(out var kept) ? kept : ChunkPackWriter.NewBlockBuffer();
        try
        {
            return await IndexCoreAsync(layer, diffId, packBuffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _packBuffers.Add(packBuffer);
        }
    }

    private async Task<bool> IndexCoreAsync(Descriptor layer, Digest diffId, MemoryStream packBuffer, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var pack = storage.Snapshots.GetBlockBlobClient(LayerIndexStore.PackBlobName(layer.Digest));
        await using var source = await blobs.Blob(layer.Digest).OpenReadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await using var tar = Decompress(layer.MediaType, source);
        await using var contents = new ChunkPackWriter(pack, packBuffer);
        using var headersBytes = new MemoryStream();
        TarSplitResult split;
        await using (var headers = HeadersCompressor(headersBytes))
        {
            split = await TarSplit.SplitAsync(tar, contents, headers, cancellationToken).ConfigureAwait(false);
        }
        var (index, table) = await contents.CompleteAsync(cancellationToken).ConfigureAwait(false);
        if (!split.TarSha256.AsSpan().SequenceEqual(Convert.FromHexString(diffId.Hex)))
        {
            // The stored layer is what its digest says, but not the tar its config names: offer it whole only.
            throw new PipelineException(ErrorCodes.DigestMismatch,
                $"Layer {layer.Digest} uncompresses to sha256:{Convert.ToHexStringLower(split.TarSha256)}, not its diff_id {diffId}; it is not indexed.");
        }
        await contents.CommitAsync(cancellationToken).ConfigureAwait(false);
        var indexDescriptor = await StoreAsync(LayerIndexStore.Caibx, index, cancellationToken).ConfigureAwait(false);
        var headersDescriptor = await StoreAsync(LayerIndexStore.HeadersMediaType, headersBytes.ToArray(), cancellationToken).ConfigureAwait(false);
        var tableDescriptor = await StoreAsync(LayerIndexStore.PackTableMediaType, table, cancellationToken).ConfigureAwait(false);
        await indexes.AddAsync(new LayerIndexRecord(layer.Digest, diffId, split.TarLength, indexDescriptor, headersDescriptor, contents.PackSize,
            tableDescriptor, contents.Chunks, contents.ContentsLength), cancellationToken).ConfigureAwait(false);
        LogIndexed(logger, layer.Digest.ToString(), split.TarLength, contents.Chunks, contents.PackSize, headersDescriptor.Size, started.ElapsedMilliseconds);
        return true;
    }

    /// <summary>
    /// The zstd stream the headers are compressed with. Level 19 on a stream of unknown size takes
    /// the level's own hash and chain tables, whatever the window: 80-90 MiB, allocated when the
    /// stream first compresses (at the end of a layer, as the headers are few) and freed at once,
    /// for a stream of mostly a few hundred KiB. With a 1 MiB window and tables of 2^18 entries it
    /// takes a few MiB; the 9,107 headers of a 4.8 MB tar of documentation and Python modules
    /// compress to 145,686 bytes instead of 142,373.
    /// </summary>
    internal static ZstdSharp.CompressionStream HeadersCompressor(Stream output)
    {
        var headers = new ZstdSharp.CompressionStream(output, HeadersLevel, leaveOpen: true);
        headers.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_windowLog, HeadersWindowLog);
        headers.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_hashLog, HeadersTableLog);
        headers.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_chainLog, HeadersTableLog);
        return headers;
    }

    private static Stream Decompress(string mediaType, Stream source) => mediaType switch
    {
        MediaTypes.OciLayerZstd => new ZstdSharp.DecompressionStream(source, leaveOpen: true),
        MediaTypes.OciLayerTar => source,
        _ => new GZipStream(source, CompressionMode.Decompress, leaveOpen: true),
    };

    private async Task<Descriptor> StoreAsync(string mediaType, byte[] bytes, CancellationToken cancellationToken)
    {
        var descriptor = new Descriptor(mediaType, Digest.Compute(bytes), bytes.Length);
        if (!await blobs.ExistsAsync(descriptor.Digest, cancellationToken).ConfigureAwait(false))
        {
            await blobs.WriteAsync(descriptor, new MemoryStream(bytes, writable: false), null, cancellationToken).ConfigureAwait(false);
        }
        return descriptor;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Indexed layer {Layer}: tar {TarBytes} bytes, {Chunks} chunks, pack {PackBytes} bytes, headers {HeadersBytes} bytes, {Milliseconds} ms")]
    private static partial void LogIndexed(ILogger logger, string layer, long tarBytes, int chunks, long packBytes, long headersBytes, long milliseconds);
}
