namespace Pipeline.Chunking;

/// <summary>
/// A tar could not be rebuilt faithfully: the headers stream is malformed or truncated, the
/// contents stream is shorter or longer than it says, or the rebuilt tar's SHA-256 is not the
/// expected one. Whatever was written to the output must be discarded.
/// </summary>
public sealed class TarRebuildException : Exception
{
    public TarRebuildException(string message)
        : base(message)
    {
    }

    public TarRebuildException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
