namespace DeviceAgent.Store;

/// <summary>
/// What fetching one blob took: where it resumed from (bytes a partial already held),
/// <see cref="BytesDownloaded"/> (bytes the link carried this time, restarts included; for a
/// chunk delta the index, headers, pack table and pack ranges, plus the whole layer after a
/// fallback), <see cref="Attempts"/> (requests made) and <see cref="Restarts"/> (times the server
/// could not continue a partial and it was started over). <see cref="Via"/> says how the blob
/// came: <c>whole</c>, <c>chunks</c>, or <c>whole-after-chunks</c> (the delta was refused and
/// the whole layer downloaded); <see cref="ChunksFetched"/> and <see cref="ChunksReused"/> count
/// the delta's chunks taken from the pack and from the seeds.
/// </summary>
internal sealed record DownloadRecord(
    string Digest,
    long Size,
    long ResumedFrom,
    long BytesDownloaded,
    int Attempts,
    int Restarts,
    bool Verified,
    string Via = DownloadRecord.Whole,
    int ChunksFetched = 0,
    int ChunksReused = 0)
{
    public const string Whole = "whole";
    public const string Chunks = "chunks";
    public const string WholeAfterChunks = "whole-after-chunks";
}
