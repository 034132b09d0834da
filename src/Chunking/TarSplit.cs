namespace Pipeline.Chunking;

/// <summary>What a split produced: the tar's length and SHA-256 (its <c>diff_id</c>) and the two streams' lengths.</summary>
public sealed record TarSplitResult(long TarLength, byte[] TarSha256, long ContentsLength, long HeadersLength);

/// <summary>
/// Splits an uncompressed tar (a layer's <c>diff_id</c> bytes) into a contents stream, the
/// concatenated data of its regular files without padding, and a small headers stream with
/// everything else (<see cref="TarSplitFormat"/>); <see cref="TarRebuild"/> puts them back
/// together byte for byte. Streaming: memory is a few buffers, whatever the tar's size.
/// </summary>
/// <remarks>
/// Understands ustar, GNU (long names L/K, base-256 sizes) and PAX (x/g, including a
/// <c>size</c> record that overrides the next header's). Hard links, symlinks, devices,
/// directories and FIFOs carry no data. Anything it does not understand is kept as literal
/// bytes, so a split never fails on a strange tar; it only deduplicates less.
/// </remarks>
public static class TarSplit
{
    private const int BufferSize = 64 * 1024;

    /// <summary>PAX data larger than this is kept but not parsed for a size record.</summary>
    private const int MaxParsedPaxData = 1024 * 1024;

    public static async Task<TarSplitResult> SplitAsync(Stream tar, Stream contents, Stream headers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tar);
        ArgumentNullException.ThrowIfNull(contents);
        ArgumentNullException.ThrowIfNull(headers);

        var input = new HashingReader(tar, BufferSize);
        var pending = new MemoryStream();
        var writer = new TarSplitWriter(pending);
        long headersLength = 0;
        long contentsLength = 0;
        var block = new byte[TarSplitFormat.BlockSize];
        var copyBuffer = new byte[BufferSize];
        bool parsing = true;
        long? paxSize = null;

        while (true)
        {
            int n = await input.ReadAsync(block, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            if (n < block.Length || !parsing || TarHeaderBlock.IsZero(block) || !TarHeaderBlock.HasValidChecksum(block) ||
                !TarHeaderBlock.TryParseSize(block, out long size))
            {
                // The end-of-archive blocks, what follows them, or bytes that are not a header:
                // from here on everything is carried as is.
                parsing = false;
                writer.Raw(block.AsSpan(0, n));
            }
            else
            {
                writer.Header(block);
                byte type = TarHeaderBlock.TypeFlag(block);
                switch (KindOf(type))
                {
                    case EntryKind.File:
                    {
                        long length = paxSize ?? size;
                        paxSize = null;
                        long copied = await CopyContentAsync(input, contents, length, copyBuffer, cancellationToken).ConfigureAwait(false);
                        contentsLength += copied;
                        writer.Content(copied);
                        if (copied == length)
                        {
                            await CopyRawAsync(input, writer, Padding(length), copyBuffer, cancellationToken).ConfigureAwait(false);
                        }
                        break;
                    }
                    case EntryKind.PaxExtended when size <= MaxParsedPaxData:
                    {
                        var data = new byte[size + Padding(size)];
                        int read = await input.ReadAsync(data, cancellationToken).ConfigureAwait(false);
                        writer.Raw(data.AsSpan(0, read));
                        paxSize = TarHeaderBlock.PaxSize(data.AsSpan(0, (int)Math.Min(read, size)));
                        break;
                    }
                    case EntryKind.NoData:
                        paxSize = null;
                        break;
                    case EntryKind.Unsupported:
                        // GNU sparse entries carry extension blocks after the header; rather than
                        // guess their layout, keep the rest of the tar literal.
                        parsing = false;
                        break;
                    default:
                    {
                        // Metadata (global PAX, GNU long names, dumpdirs, vendor types): its data
                        // travels with the headers, since it changes when the headers do.
                        if (type != (byte)'g' && type != (byte)'L' && type != (byte)'K')
                        {
                            paxSize = null;
                        }
                        await CopyRawAsync(input, writer, size + Padding(size), copyBuffer, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                }
            }

            if (pending.Length >= BufferSize)
            {
                headersLength += await DrainAsync(pending, headers, cancellationToken).ConfigureAwait(false);
            }
        }

        var sha256 = input.Finish();
        writer.End(input.Length, contentsLength, sha256);
        headersLength += await DrainAsync(pending, headers, cancellationToken).ConfigureAwait(false);
        await headers.FlushAsync(cancellationToken).ConfigureAwait(false);
        await contents.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new TarSplitResult(input.Length, sha256, contentsLength, headersLength);
    }

    private enum EntryKind
    {
        File,
        PaxExtended,
        NoData,
        Unsupported,
        Metadata,
    }

    private static EntryKind KindOf(byte type) => type switch
    {
        (byte)'0' or 0 or (byte)'7' => EntryKind.File,
        (byte)'x' => EntryKind.PaxExtended,
        // Hard link, symlink, character and block device, directory, FIFO: POSIX stores no data.
        >= (byte)'1' and <= (byte)'6' => EntryKind.NoData,
        (byte)'S' => EntryKind.Unsupported,
        _ => EntryKind.Metadata,
    };

    private static long Padding(long length) => (TarSplitFormat.BlockSize - (length % TarSplitFormat.BlockSize)) % TarSplitFormat.BlockSize;

    private static async Task<long> CopyContentAsync(HashingReader input, Stream contents, long length, byte[] buffer, CancellationToken cancellationToken)
    {
        long copied = 0;
        while (copied < length)
        {
            int want = (int)Math.Min(buffer.Length, length - copied);
            int n = await input.ReadAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            await contents.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            copied += n;
        }
        return copied;
    }

    private static async Task CopyRawAsync(HashingReader input, TarSplitWriter writer, long length, byte[] buffer, CancellationToken cancellationToken)
    {
        long copied = 0;
        while (copied < length)
        {
            int want = (int)Math.Min(buffer.Length, length - copied);
            int n = await input.ReadAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }
            writer.Raw(buffer.AsSpan(0, n));
            copied += n;
        }
    }

    private static async Task<long> DrainAsync(MemoryStream pending, Stream headers, CancellationToken cancellationToken)
    {
        long length = pending.Length;
        await headers.WriteAsync(pending.GetBuffer().AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
        pending.SetLength(0);
        return length;
    }
}
