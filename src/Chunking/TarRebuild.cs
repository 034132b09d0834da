using System.Security.Cryptography;

namespace Pipeline.Chunking;

/// <summary>The rebuilt tar's length and SHA-256, computed over the bytes as they were written.</summary>
public sealed record TarRebuildResult(long TarLength, byte[] TarSha256);

/// <summary>
/// Rebuilds the exact tar that <see cref="TarSplit"/> split, from its headers stream and its
/// contents stream (for example the contents reassembled from chunks), hashing the output as it
/// is written. Streaming: memory is one buffer, whatever the tar's size.
/// </summary>
public static class TarRebuild
{
    private const int BufferSize = 64 * 1024;

    /// <summary>
    /// Writes the tar to <paramref name="output"/> and checks it: the contents stream must hold
    /// exactly the bytes the headers stream asks for, and the SHA-256 of what was written must be
    /// the one recorded at the split and, when given, <paramref name="expectedSha256"/> (the
    /// layer's <c>diff_id</c>, which a tampered headers stream cannot forge).
    /// </summary>
    /// <exception cref="TarRebuildException">Malformed headers, wrong-length contents, or a digest mismatch; discard the output.</exception>
    public static async Task<TarRebuildResult> RebuildAsync(
        Stream headers,
        Stream contents,
        Stream output,
        byte[]? expectedSha256 = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(contents);
        ArgumentNullException.ThrowIfNull(output);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BufferSize];
        long written = 0;
        long contentsRead = 0;

        var magic = new byte[TarSplitFormat.Magic.Length];
        await ReadExactlyAsync(headers, magic, "the magic", cancellationToken).ConfigureAwait(false);
        if (!magic.AsSpan().SequenceEqual(TarSplitFormat.Magic))
        {
            throw new TarRebuildException("Not a headers stream: the magic is wrong.");
        }

        while (true)
        {
            int opcode = headers.ReadByte();
            switch (opcode)
            {
                case TarSplitFormat.Header:
                    await ReadExactlyAsync(headers, buffer.AsMemory(0, TarSplitFormat.BlockSize), "a header block", cancellationToken).ConfigureAwait(false);
                    await EmitAsync(buffer.AsMemory(0, TarSplitFormat.BlockSize)).ConfigureAwait(false);
                    break;
                case TarSplitFormat.Content:
                {
                    long remaining = Varint.Read(headers);
                    while (remaining > 0)
                    {
                        int n = await contents.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                        if (n == 0)
                        {
                            throw new TarRebuildException($"The contents stream ends at {contentsRead} bytes, before the headers stream is done with it.");
                        }
                        contentsRead += n;
                        remaining -= n;
                        await EmitAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                    }
                    break;
                }
                case TarSplitFormat.Zeros:
                {
                    long remaining = Varint.Read(headers);
                    Array.Clear(buffer);
                    while (remaining > 0)
                    {
                        int n = (int)Math.Min(buffer.Length, remaining);
                        remaining -= n;
                        await EmitAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                    }
                    break;
                }
                case TarSplitFormat.Literal:
                {
                    long remaining = Varint.Read(headers);
                    while (remaining > 0)
                    {
                        int n = (int)Math.Min(buffer.Length, remaining);
                        await ReadExactlyAsync(headers, buffer.AsMemory(0, n), "literal bytes", cancellationToken).ConfigureAwait(false);
                        remaining -= n;
                        await EmitAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                    }
                    break;
                }
                case TarSplitFormat.End:
                    return await FinishAsync().ConfigureAwait(false);
                case -1:
                    throw new TarRebuildException("The headers stream ends without its end record.");
                default:
                    throw new TarRebuildException($"Unknown record 0x{opcode:x2} in the headers stream.");
            }
        }

        async ValueTask EmitAsync(ReadOnlyMemory<byte> bytes)
        {
            hash.AppendData(bytes.Span);
            written += bytes.Length;
            await output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }

        async Task<TarRebuildResult> FinishAsync()
        {
            long tarLength = Varint.Read(headers);
            long contentsLength = Varint.Read(headers);
            var recorded = new byte[32];
            await ReadExactlyAsync(headers, recorded, "the recorded SHA-256", cancellationToken).ConfigureAwait(false);
            if (headers.ReadByte() != -1)
            {
                throw new TarRebuildException("Bytes follow the end record of the headers stream.");
            }
            if (contentsRead != contentsLength || await contents.ReadAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) != 0)
            {
                throw new TarRebuildException($"The contents stream is longer than the {contentsLength} bytes the tar holds.");
            }
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            var actual = hash.GetHashAndReset();
            if (written != tarLength)
            {
                throw new TarRebuildException($"The rebuilt tar is {written} bytes; the split recorded {tarLength}.");
            }
            if (!actual.AsSpan().SequenceEqual(recorded))
            {
                throw new TarRebuildException($"The rebuilt tar's SHA-256 is {Convert.ToHexStringLower(actual)}; the split recorded {Convert.ToHexStringLower(recorded)}.");
            }
            if (expectedSha256 is not null && !actual.AsSpan().SequenceEqual(expectedSha256))
            {
                throw new TarRebuildException($"The rebuilt tar's SHA-256 is {Convert.ToHexStringLower(actual)}, not the expected {Convert.ToHexStringLower(expectedSha256)}.");
            }
            return new TarRebuildResult(written, actual);
        }
    }

    private static async Task ReadExactlyAsync(Stream input, Memory<byte> buffer, string what, CancellationToken cancellationToken)
    {
        try
        {
            await input.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new TarRebuildException($"The headers stream ends inside {what}.", e);
        }
    }
}
