namespace Pipeline.Oci;

/// <summary>
/// A blob's bytes that check themselves: reading throws when they exceed <see cref="Size"/> or,
/// with the last byte, when they do not hash to <see cref="Expected"/>. A consumer that reads it
/// to its end for the same descriptor need not hash the bytes a second time.
/// </summary>
public interface IVerifiedBlobSource
{
    Digest Expected { get; }

    long Size { get; }

    /// <summary>True once all <see cref="Size"/> bytes have been read and hashed to <see cref="Expected"/>.</summary>
    bool Verified { get; }
}
