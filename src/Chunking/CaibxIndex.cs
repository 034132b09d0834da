namespace Pipeline.Chunking;

/// <summary>
/// A parsed <c>.caibx</c>: the chunk sizes the blob was cut with, the feature flags and the
/// chunks in blob order. The blob is the chunks' bytes concatenated.
/// </summary>
public sealed record CaibxIndex(ulong FeatureFlags, ChunkSizes Sizes, IReadOnlyList<CaibxEntry> Entries)
{
    /// <summary>The blob's length: the last chunk's end.</summary>
    public long BlobLength => Entries.Count == 0 ? 0 : Entries[^1].End;
}
