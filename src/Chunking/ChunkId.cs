using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pipeline.Chunking;

/// <summary>
/// A chunk's name: the SHA-256 of its uncompressed bytes, as casync names chunks when made with
/// <c>--digest=sha256</c>. Naming by the uncompressed bytes keeps ids stable whatever compression
/// level or library wrote the store.
/// </summary>
public readonly struct ChunkId : IEquatable<ChunkId>
{
    /// <summary>Bytes in an id (<c>CA_CHUNK_ID_SIZE</c>).</summary>
    public const int Size = 32;

    // Four big-endian words keep the struct small, comparable and free of array allocations.
    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    /// <summary>Wraps 32 id bytes.</summary>
    /// <exception cref="ArgumentException">Not exactly 32 bytes.</exception>
    public ChunkId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A chunk id is {Size} bytes, not {bytes.Length}.", nameof(bytes));
        }
        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>The id of these uncompressed chunk bytes.</summary>
    public static ChunkId Compute(ReadOnlySpan<byte> chunk)
    {
        Span<byte> hash = stackalloc byte[Size];
        SHA256.HashData(chunk, hash);
        return new ChunkId(hash);
    }

    /// <summary>Parses 64 lower- or upper-case hex digits.</summary>
    /// <exception cref="FormatException">Not 64 hex digits.</exception>
    public static ChunkId Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length != Size * 2)
        {
            throw new FormatException($"A chunk id is {Size * 2} hex digits, not {hex.Length}.");
        }
        return new ChunkId(Convert.FromHexString(hex));
    }

    /// <summary>Writes the 32 id bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>64 lower-case hex digits, as in casync's store file names.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    public bool Equals(ChunkId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is ChunkId other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);

    public static bool operator ==(ChunkId left, ChunkId right) => left.Equals(right);

    public static bool operator !=(ChunkId left, ChunkId right) => !left.Equals(right);
}
