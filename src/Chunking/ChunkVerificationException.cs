namespace Pipeline.Chunking;

/// <summary>
/// A stored or downloaded chunk that is not the chunk it claims to be: it does not decompress,
/// decompresses to more than the allowed size, or its SHA-256 differs from its id. The chunk
/// must be discarded and fetched again; its bytes never reach a rebuilt layer.
/// </summary>
public sealed class ChunkVerificationException : Exception
{
    public ChunkVerificationException(ChunkId expected, string message)
        : base($"Chunk {expected}: {message}")
    {
        Expected = expected;
    }

    public ChunkVerificationException(ChunkId expected, string message, Exception innerException)
        : base($"Chunk {expected}: {message}", innerException)
    {
        Expected = expected;
    }

    /// <summary>The id the chunk was fetched or stored under.</summary>
    public ChunkId Expected { get; }
}
