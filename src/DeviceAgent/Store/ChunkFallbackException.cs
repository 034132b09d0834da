namespace DeviceAgent.Store;

/// <summary>
/// A chunk delta that cannot be trusted or used (TEST-MATRIX row 35): an index, headers stream or
/// pack table whose digest or shape is wrong, a chunk that is not what its id says, a pack that
/// does not serve ranges, or a rebuilt tar whose sha256 is not the <c>diff_id</c>. What the delta
/// produced has been deleted; the caller downloads the whole layer. <see cref="BytesReceived"/>
/// is what the attempt cost on the link, for the round's report.
/// </summary>
internal sealed class ChunkFallbackException(string message, long bytesReceived, Exception? inner = null) : Exception(message, inner)
{
    public long BytesReceived { get; } = bytesReceived;
}
