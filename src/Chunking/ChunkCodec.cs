using ZstdSharp;

namespace Pipeline.Chunking;

/// <summary>
/// Compresses chunks for the store and decompresses and verifies them on the way out: a
/// <c>.cacnk</c> is one zstd frame of the chunk's bytes, as casync's default store keeps them
/// (its default compression is zstd; it detects the format by the frame's magic when reading).
/// </summary>
/// <remarks>
/// One codec holds one compression and one decompression context, reused across chunks because
/// creating them per chunk costs more than compressing a 64 KiB chunk. Not thread-safe: use one
/// per worker.
/// </remarks>
public sealed class ChunkCodec : IDisposable
{
    /// <summary>zstd's own default: casync uses it too, and it keeps compression well ahead of the network.</summary>
    public const int DefaultLevel = 3;

    private readonly Compressor _compressor;
    private readonly Decompressor _decompressor = new();

    public ChunkCodec(int level = DefaultLevel)
    {
        _compressor = new Compressor(level);
    }

    private byte[] _scratch = [];

    /// <summary>The chunk as one zstd frame.</summary>
    public byte[] Compress(ReadOnlySpan<byte> chunk) => CompressToScratch(chunk).ToArray();

    /// <summary>
    /// The chunk as one zstd frame, in a buffer this codec reuses: valid until its next call.
    /// For writers that copy the frame on at once (no allocation per chunk; chunks of up to
    /// 256 KiB would otherwise each leave large-object garbage behind).
    /// </summary>
    public ReadOnlySpan<byte> CompressToScratch(ReadOnlySpan<byte> chunk)
    {
        int bound = (int)Compressor.GetCompressBound(chunk.Length);
        if (_scratch.Length < bound)
        {
            _scratch = new byte[bound];
        }
        int written = _compressor.Wrap(chunk, _scratch);
        return _scratch.AsSpan(0, written);
    }

    /// <summary>
    /// Decompresses a chunk into <paramref name="destination"/> and checks that its SHA-256 is
    /// <paramref name="expected"/>. The destination's length caps what a hostile frame can
    /// expand to (give it the index's maximum chunk size). Returns the chunk's length.
    /// </summary>
    /// <exception cref="ChunkVerificationException">Not a valid frame, too large, or a different chunk.</exception>
    public int DecompressVerified(ReadOnlySpan<byte> compressed, ChunkId expected, Span<byte> destination)
    {
        int length;
        try
        {
            length = _decompressor.Unwrap(compressed, destination);
        }
        catch (ZstdException e)
        {
            throw new ChunkVerificationException(expected, $"does not decompress within {destination.Length} bytes ({e.Message}).", e);
        }
        var actual = ChunkId.Compute(destination[..length]);
        if (actual != expected)
        {
            throw new ChunkVerificationException(expected, $"its bytes hash to {actual}.");
        }
        return length;
    }

    /// <summary>Like <see cref="DecompressVerified(ReadOnlySpan{byte}, ChunkId, Span{byte})"/>, into a new array.</summary>
    public byte[] DecompressVerified(ReadOnlySpan<byte> compressed, ChunkId expected, int maxLength)
    {
        var buffer = new byte[maxLength];
        int length = DecompressVerified(compressed, expected, buffer);
        Array.Resize(ref buffer, length);
        return buffer;
    }

    public void Dispose()
    {
        _compressor.Dispose();
        _decompressor.Dispose();
    }
}
