namespace Pipeline.Chunking;

/// <summary>
/// Writes the records of a headers stream (<see cref="TarSplitFormat"/>), merging neighbouring
/// zero runs and literals so padding and end blocks cost a few bytes. Buffers at most one
/// literal run (<see cref="MaxLiteral"/>) before writing it.
/// </summary>
internal sealed class TarSplitWriter
{
    private const int MaxLiteral = 64 * 1024;

    private readonly Stream _output;
    private readonly byte[] _literal = new byte[MaxLiteral];
    private readonly byte[] _record = new byte[1 + 10 + 10 + 32];
    private int _literalLength;
    private long _zeros;

    public TarSplitWriter(Stream output)
    {
        _output = output;
        _output.Write(TarSplitFormat.Magic);
    }

    public void Header(ReadOnlySpan<byte> block)
    {
        Flush();
        _output.WriteByte(TarSplitFormat.Header);
        _output.Write(block);
    }

    public void Content(long length)
    {
        Flush();
        WriteRecord(TarSplitFormat.Content, length);
    }

    /// <summary>Raw bytes, sent as zero runs where whole 512-byte blocks (or a short all-zero piece) are zero.</summary>
    public void Raw(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var piece = bytes[..Math.Min(bytes.Length, TarSplitFormat.BlockSize)];
            if (TarHeaderBlock.IsZero(piece))
            {
                FlushLiteral();
                _zeros += piece.Length;
            }
            else
            {
                FlushZeros();
                if (_literalLength + piece.Length > MaxLiteral)
                {
                    FlushLiteral();
                }
                piece.CopyTo(_literal.AsSpan(_literalLength));
                _literalLength += piece.Length;
            }
            bytes = bytes[piece.Length..];
        }
    }

    public void End(long tarLength, long contentsLength, ReadOnlySpan<byte> tarSha256)
    {
        Flush();
        int n = 0;
        _record[n++] = TarSplitFormat.End;
        n += Varint.Write(_record.AsSpan(n), (ulong)tarLength);
        n += Varint.Write(_record.AsSpan(n), (ulong)contentsLength);
        tarSha256.CopyTo(_record.AsSpan(n));
        n += tarSha256.Length;
        _output.Write(_record, 0, n);
    }

    private void Flush()
    {
        FlushLiteral();
        FlushZeros();
    }

    private void FlushZeros()
    {
        if (_zeros > 0)
        {
            WriteRecord(TarSplitFormat.Zeros, _zeros);
            _zeros = 0;
        }
    }

    private void FlushLiteral()
    {
        if (_literalLength > 0)
        {
            WriteRecord(TarSplitFormat.Literal, _literalLength);
            _output.Write(_literal, 0, _literalLength);
            _literalLength = 0;
        }
    }

    private void WriteRecord(byte opcode, long value)
    {
        _record[0] = opcode;
        int n = 1 + Varint.Write(_record.AsSpan(1), (ulong)value);
        _output.Write(_record, 0, n);
    }
}
