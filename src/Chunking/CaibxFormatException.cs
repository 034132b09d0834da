namespace Pipeline.Chunking;

/// <summary>
/// A <c>.caibx</c> that is not a well-formed casync blob index with SHA-256 ids: wrong magic,
/// sizes out of order, offsets not increasing, a chunk longer than the maximum, a damaged or
/// missing tail. Thrown before any chunk is fetched, so a bad index never becomes a bad blob.
/// </summary>
public sealed class CaibxFormatException : Exception
{
    public CaibxFormatException(string message)
        : base(message)
    {
    }

    public CaibxFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
