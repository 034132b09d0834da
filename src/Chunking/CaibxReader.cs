using System.Buffers.Binary;

namespace Pipeline.Chunking;

/// <summary>
/// Reads and validates a <c>.caibx</c> blob index with SHA-256 chunk ids, as
/// <c>casync make --digest=sha256</c> or <see cref="CaibxWriter"/> writes it. Everything casync
/// itself checks when it reads an index is checked here too, plus that nothing follows the tail.
/// </summary>
public static class CaibxReader
{
    /// <summary>Enough for a 256 GiB blob at the default sizes; caps memory on a hostile index.</summary>
    public const int DefaultMaxEntries = 4 * 1024 * 1024;

    /// <exception cref="CaibxFormatException">The index is malformed, truncated, has trailing bytes, uses SHA-512/256 ids or exceeds <paramref name="maxEntries"/>.</exception>
    public static async Task<CaibxIndex> ReadAsync(Stream input, int maxEntries = DefaultMaxEntries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var head = new byte[CaibxFormat.IndexHeaderSize + CaibxFormat.TableHeaderSize];
        await ReadExactlyAsync(input, head, "the index header", cancellationToken).ConfigureAwait(false);
        var (flags, sizes) = ParseHead(head);

        var entries = new List<CaibxEntry>();
        var record = new byte[CaibxFormat.ItemSize];
        long previous = 0;
        while (true)
        {
            await ReadExactlyAsync(input, record, $"item {entries.Count} or the table tail", cancellationToken).ConfigureAwait(false);
            if (IsTail(record, entries.Count))
            {
                break;
            }
            if (entries.Count >= maxEntries)
            {
                throw new CaibxFormatException($"The index has more than {maxEntries} chunks.");
            }
            long end = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(record));
            if (end <= previous)
            {
                throw new CaibxFormatException($"Chunk {entries.Count} ends at {end}, not after the previous end {previous}.");
            }
            if (end - previous > sizes.Max)
            {
                throw new CaibxFormatException($"Chunk {entries.Count} is {end - previous} bytes, more than the maximum {sizes.Max}.");
            }
            entries.Add(new CaibxEntry(previous, end, new ChunkId(record.AsSpan(8))));
            previous = end;
        }

        var probe = new byte[1];
        if (await input.ReadAsync(probe, cancellationToken).ConfigureAwait(false) != 0)
        {
            throw new CaibxFormatException("Bytes follow the table tail.");
        }
        return new CaibxIndex(flags, sizes, entries);
    }

    private static (ulong Flags, ChunkSizes Sizes) ParseHead(ReadOnlySpan<byte> head)
    {
        if (BinaryPrimitives.ReadUInt64LittleEndian(head) != CaibxFormat.IndexHeaderSize ||
            BinaryPrimitives.ReadUInt64LittleEndian(head[8..]) != CaibxFormat.IndexType)
        {
            throw new CaibxFormatException("Not a casync index: the index header's size or type is wrong.");
        }
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(head[16..]);
        if ((flags & ~CaibxFormat.KnownFlags) != 0)
        {
            throw new CaibxFormatException($"Unknown feature flags 0x{flags & ~CaibxFormat.KnownFlags:x16}.");
        }
        if ((flags & CaibxFormat.Sha512_256Flag) != 0)
        {
            throw new CaibxFormatException("The index names chunks by SHA-512/256; only SHA-256 (--digest=sha256) is supported.");
        }
        ulong min = BinaryPrimitives.ReadUInt64LittleEndian(head[24..]);
        ulong avg = BinaryPrimitives.ReadUInt64LittleEndian(head[32..]);
        ulong max = BinaryPrimitives.ReadUInt64LittleEndian(head[40..]);
        ChunkSizes sizes;
        try
        {
            sizes = new ChunkSizes(checked((int)min), checked((int)avg), checked((int)max));
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or OverflowException)
        {
            throw new CaibxFormatException($"Unsupported chunk sizes {min}/{avg}/{max}.", e);
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(head[48..]) != ulong.MaxValue ||
            BinaryPrimitives.ReadUInt64LittleEndian(head[56..]) != CaibxFormat.TableType)
        {
            throw new CaibxFormatException("The table header's size or type is wrong.");
        }
        return (flags, sizes);
    }

    // A 40-byte record is the tail when it is shaped like one; an item can never be, since its
    // end offset would be zero (offsets must increase from a positive first end).
    private static bool IsTail(ReadOnlySpan<byte> record, int items)
    {
        ulong zero1 = BinaryPrimitives.ReadUInt64LittleEndian(record);
        ulong zero2 = BinaryPrimitives.ReadUInt64LittleEndian(record[8..]);
        ulong indexOffset = BinaryPrimitives.ReadUInt64LittleEndian(record[16..]);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(record[24..]);
        ulong marker = BinaryPrimitives.ReadUInt64LittleEndian(record[32..]);
        if (marker != CaibxFormat.TableTailMarker)
        {
            if (zero1 == 0)
            {
                throw new CaibxFormatException($"Record {items} has end offset 0 but is not a valid table tail (marker 0x{marker:x16}).");
            }
            return false;
        }
        if (zero1 != 0 || zero2 != 0 || indexOffset != CaibxFormat.IndexHeaderSize)
        {
            throw new CaibxFormatException("The table tail is damaged.");
        }
        if (size != (ulong)CaibxWriter.TableSize(items))
        {
            throw new CaibxFormatException($"The table tail records a table of {size} bytes; {items} items make {CaibxWriter.TableSize(items)}.");
        }
        return true;
    }

    private static async Task ReadExactlyAsync(Stream input, byte[] buffer, string what, CancellationToken cancellationToken)
    {
        try
        {
            await input.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new CaibxFormatException($"The index ends inside {what}.", e);
        }
    }
}
