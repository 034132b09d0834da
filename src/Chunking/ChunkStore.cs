namespace Pipeline.Chunking;

/// <summary>
/// A directory of chunks laid out as casync's default local store:
/// <c>&lt;root&gt;/&lt;first 4 hex digits&gt;/&lt;64 hex digits&gt;.cacnk</c>, each file one zstd
/// frame (<see cref="ChunkCodec"/>). casync can extract from it (<c>casync extract --store=root</c>),
/// and the same relative paths work as URLs under an HTTP store.
/// </summary>
public sealed class ChunkStore
{
    public ChunkStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = root;
    }

    public string Root { get; }

    /// <summary>The chunk's path relative to the store root, with '/' separators.</summary>
    public static string RelativePath(ChunkId id)
    {
        var hex = id.ToString();
        return $"{hex[..4]}/{hex}.cacnk";
    }

    public string PathOf(ChunkId id) => Path.Combine(Root, RelativePath(id).Replace('/', Path.DirectorySeparatorChar));

    public bool Contains(ChunkId id) => File.Exists(PathOf(id));

    /// <summary>
    /// Stores an already compressed chunk unless the store has it. Written to a temporary file
    /// and renamed, so a crash never leaves a half-written chunk under its real name.
    /// </summary>
    /// <returns>False when the chunk was already there.</returns>
    public async Task<bool> PutCompressedAsync(ChunkId id, ReadOnlyMemory<byte> compressed, CancellationToken cancellationToken = default)
    {
        var path = PathOf(id);
        if (File.Exists(path))
        {
            return false;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await File.WriteAllBytesAsync(temporary, compressed.ToArray(), cancellationToken).ConfigureAwait(false);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        return true;
    }

    /// <summary>Compresses and stores a chunk unless the store has it; returns its id, computed from its bytes.</summary>
    public ChunkId Put(ChunkCodec codec, ReadOnlySpan<byte> chunk)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var id = ChunkId.Compute(chunk);
        var path = PathOf(id);
        if (File.Exists(path))
        {
            return id;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, codec.Compress(chunk));
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        return id;
    }

    /// <summary>Reads, decompresses and verifies a chunk.</summary>
    /// <exception cref="FileNotFoundException">The store does not have it.</exception>
    /// <exception cref="ChunkVerificationException">The stored file is not that chunk.</exception>
    public async Task<byte[]> GetAsync(ChunkCodec codec, ChunkId id, int maxLength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var compressed = await File.ReadAllBytesAsync(PathOf(id), cancellationToken).ConfigureAwait(false);
        return codec.DecompressVerified(compressed, id, maxLength);
    }
}
