using System.Buffers.Binary;

namespace Pipeline.Chunking;

/// <summary>
/// Writes a <c>.caibx</c> byte for byte as <c>casync make --digest=sha256</c> writes a blob
/// index (layout in <see cref="CaibxFormat"/>), one chunk at a time, so an index can be written
/// while the blob is still being chunked. casync can then extract the blob from it.
/// </summary>
public sealed class CaibxWriter
{
    private readonly Stream _output;
    private readonly ChunkSizes _sizes;
    private readonly byte[] _record = new byte[CaibxFormat.ItemSize];
    private long _end;
    private long _items;
    private bool _completed;

    /// <summary>Writes the index and table headers at once.</summary>
    /// <param name="featureFlags">Recorded as is; the default is what casync records for a blob with SHA-256 ids.</param>
    public CaibxWriter(Stream output, ChunkSizes sizes, ulong featureFlags = CaibxFormat.BlobSha256Flags)
    {
        ArgumentNullException.ThrowIfNull(output);
        if ((featureFlags & CaibxFormat.Sha512_256Flag) != 0)
        {
            throw new ArgumentException("Chunk ids are SHA-256: the SHA-512/256 flag must be clear.", nameof(featureFlags));
        }
        _output = output;
        _sizes = sizes;

        Span<byte> head = stackalloc byte[CaibxFormat.IndexHeaderSize + CaibxFormat.TableHeaderSize];
        BinaryPrimitives.WriteUInt64LittleEndian(head, CaibxFormat.IndexHeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(head[8..], CaibxFormat.IndexType);
        BinaryPrimitives.WriteUInt64LittleEndian(head[16..], featureFlags);
        BinaryPrimitives.WriteUInt64LittleEndian(head[24..], (ulong)sizes.Min);
        BinaryPrimitives.WriteUInt64LittleEndian(head[32..], (ulong)sizes.Avg);
        BinaryPrimitives.WriteUInt64LittleEndian(head[40..], (ulong)sizes.Max);
        BinaryPrimitives.WriteUInt64LittleEndian(head[48..], ulong.MaxValue);
        BinaryPrimitives.WriteUInt64LittleEndian(head[56..], CaibxFormat.TableType);
        _output.Write(head);
    }

    /// <summary>The blob length covered so far.</summary>
    public long BlobLength => _end;

    /// <summary>Appends the next chunk of the blob.</summary>
    public void Add(ChunkId id, int length)
    {
        if (_completed)
        {
            throw new InvalidOperationException("The index is already complete.");
        }
        if (length <= 0 || length > _sizes.Max)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"A chunk is 1..{_sizes.Max} bytes, not {length}.");
        }
        _end += length;
        _items++;
        BinaryPrimitives.WriteUInt64LittleEndian(_record, (ulong)_end);
        id.CopyTo(_record.AsSpan(8));
        _output.Write(_record);
    }

    /// <summary>Writes the table tail; the index is complete. Does not close the stream.</summary>
    public void Complete()
    {
        if (_completed)
        {
            return;
        }
        _completed = true;
        Span<byte> tail = stackalloc byte[CaibxFormat.TailSize];
        tail.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(tail[16..], CaibxFormat.IndexHeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(tail[24..], (ulong)TableSize(_items));
        BinaryPrimitives.WriteUInt64LittleEndian(tail[32..], CaibxFormat.TableTailMarker);
        _output.Write(tail);
        _output.Flush();
    }

    /// <summary>Writes a whole index.</summary>
    public static void Write(Stream output, CaibxIndex index)
    {
        ArgumentNullException.ThrowIfNull(index);
        var writer = new CaibxWriter(output, index.Sizes, index.FeatureFlags);
        foreach (var entry in index.Entries)
        {
            writer.Add(entry.Id, entry.Length);
        }
        writer.Complete();
    }

    /// <summary>The size the tail records for the table: its header, the items and the tail itself.</summary>
    internal static long TableSize(long items) =>
        CaibxFormat.TableHeaderSize + (items * CaibxFormat.ItemSize) + CaibxFormat.TailSize;
}
