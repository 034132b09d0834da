namespace DeviceAgent.Store;

/// <summary>
/// <c>layer.json</c> of an indexed layer (<c>layers/sha256/&lt;hex&gt;/</c>): the compressed
/// layer digest it belongs to, its media type, the uncompressed tar's <c>diff_id</c> and length,
/// and how the store holds it: <see cref="HeldAsTar"/> (<c>layer.tar</c> beside this file, rebuilt
/// from chunks) or <see cref="HeldAsBlob"/> (the compressed blob in <c>blobs/sha256/</c>; this
/// folder only describes its chunks).
/// </summary>
internal sealed record LayerInfo(string Digest, string MediaType, string DiffId, long TarSize, string Held, DateTimeOffset IndexedAt)
{
    public const string HeldAsTar = "tar";
    public const string HeldAsBlob = "blob";
}
