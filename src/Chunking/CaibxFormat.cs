namespace Pipeline.Chunking;

/// <summary>
/// The constants of casync's index file format (<c>src/caformat.h</c>): object types, the table
/// tail marker, feature flags and record sizes. Every number is little-endian on disk.
/// </summary>
/// <remarks>
/// A blob index is: a 48-byte <c>CaFormatIndex</c> (size 48, type <see cref="IndexType"/>,
/// feature flags, min/avg/max chunk size); a 16-byte table header (size <c>UINT64_MAX</c>,
/// because casync writes the table incrementally, type <see cref="TableType"/>); one 40-byte
/// item per chunk (the chunk's end offset in the blob, cumulative, then its 32-byte id); and a
/// 40-byte tail (two zero words, the distance from the table back to the index header = 48,
/// the table's size = 16 + 40·(items + 1), and <see cref="TableTailMarker"/>).
/// </remarks>
public static class CaibxFormat
{
    public const ulong IndexType = 0x96824d9c7b129ff9;
    public const ulong TableType = 0xe75b9e112f17417d;
    public const ulong TableTailMarker = 0x4b4f050e5549ecd1;

    /// <summary>Chunk ids are SHA-512/256 when set, SHA-256 when clear (<c>--digest=sha256</c>).</summary>
    public const ulong Sha512_256Flag = 0x2000000000000000;

    /// <summary><c>CA_FORMAT_EXCLUDE_NODUMP</c>: on by default, meaningless for a blob but recorded.</summary>
    public const ulong ExcludeNoDumpFlag = 0x8000000000000000;

    /// <summary><c>CA_FORMAT_EXCLUDE_FILE</c>: on by default, meaningless for a blob but recorded.</summary>
    public const ulong ExcludeFileFlag = 0x1000000000000000;

    /// <summary>
    /// What <c>casync make --digest=sha256 x.caibx blob</c> records: its default exclusion bits
    /// and none of the "with" bits (a blob has no file metadata), SHA-512/256 cleared.
    /// </summary>
    public const ulong BlobSha256Flags = ExcludeNoDumpFlag | ExcludeFileFlag;

    /// <summary>Every bit casync knows (<c>CA_FORMAT_FEATURE_FLAGS_MAX</c>); others are refused.</summary>
    public const ulong KnownFlags = 0xF0000001FFFFFFFF;

    public const int IndexHeaderSize = 48;
    public const int TableHeaderSize = 16;
    public const int ItemSize = 8 + ChunkId.Size;
    public const int TailSize = 40;
}
