namespace Pipeline.Chunking;

/// <summary>Unsigned LEB128: 7 bits a byte, low first, high bit set on all but the last byte.</summary>
internal static class Varint
{
    public const int MaxLength = 10;

    public static int Write(Span<byte> destination, ulong value)
    {
        int n = 0;
        while (value >= 0x80)
        {
            destination[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[n++] = (byte)value;
        return n;
    }

    /// <summary>Reads one varint that fits a non-negative long.</summary>
    /// <exception cref="TarRebuildException">Truncated, too long or too large.</exception>
    public static long Read(Stream input)
    {
        ulong value = 0;
        for (int shift = 0; shift < 7 * MaxLength; shift += 7)
        {
            int b = input.ReadByte();
            if (b < 0)
            {
                throw new TarRebuildException("The headers stream ends inside a number.");
            }
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value <= long.MaxValue
                    ? (long)value
                    : throw new TarRebuildException("The headers stream holds a number out of range.");
            }
        }
        throw new TarRebuildException("The headers stream holds a number longer than 10 bytes.");
    }
}
