namespace Pipeline.Chunking;

/// <summary>One chunk of an indexed blob: where it starts and ends in the blob, and its id.</summary>
public readonly record struct CaibxEntry(long Start, long End, ChunkId Id)
{
    public int Length => checked((int)(End - Start));
}
