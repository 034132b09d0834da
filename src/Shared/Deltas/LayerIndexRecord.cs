using Pipeline.Oci;

namespace Pipeline.Deltas;

/// <summary>
/// A layer's chunk index, stored once per layer digest after its version was committed: the
/// uncompressed tar it stands for (<see cref="DiffId"/>, <see cref="TarSize"/>), the casync
/// index of its contents stream, its tar-split headers stream (zstd), its pack (every chunk as
/// one zstd frame, in index order, under <see cref="LayerIndexStore.PackBlobName"/>) and the
/// pack's table (one little-endian uint32 frame length per index entry).
/// </summary>
public sealed record LayerIndexRecord(
    Digest Layer,
    Digest DiffId,
    long TarSize,
    Descriptor Index,
    Descriptor Headers,
    long PackSize,
    Descriptor PackTable,
    int Chunks,
    long ContentsSize);
