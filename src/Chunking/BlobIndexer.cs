namespace Pipeline.Chunking;

/// <summary>
/// Chunks a blob into a store and writes its <c>.caibx</c> in one streaming pass: what
/// <c>casync make --digest=sha256 --store=STORE INDEX BLOB</c> does, with the same output.
/// </summary>
public static class BlobIndexer
{
    /// <summary>The buffer the blob is read through; chunks may straddle reads.</summary>
    private const int ReadBufferSize = 1024 * 1024;

    /// <summary>Returns the blob's length.</summary>
    public static async Task<long> IndexAsync(Stream blob, ChunkStore store, Stream index, ChunkSizes sizes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(store);
        using var codec = new ChunkCodec();
        var writer = new CaibxWriter(index, sizes);
        var chunking = new ChunkingStream(sizes, chunk => writer.Add(store.Put(codec, chunk), chunk.Length));
        await blob.CopyToAsync(chunking, ReadBufferSize, cancellationToken).ConfigureAwait(false);
        chunking.Complete();
        writer.Complete();
        return chunking.Length;
    }
}
