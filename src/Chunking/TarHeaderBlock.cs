using System.Text;

namespace Pipeline.Chunking;

/// <summary>
/// Reads the few fields of a tar header block that decide where the next header starts: the
/// checksum (is this a header at all), the type flag and the size, in octal or GNU base-256.
/// See POSIX pax "ustar Interchange Format" and GNU tar's "Basic Tar Format".
/// </summary>
internal static class TarHeaderBlock
{
    private const int SizeOffset = 124;
    private const int SizeLength = 12;
    private const int ChecksumOffset = 148;
    private const int ChecksumLength = 8;
    private const int TypeFlagOffset = 156;

    public static bool IsZero(ReadOnlySpan<byte> block) => !block.ContainsAnyExcept((byte)0);

    public static byte TypeFlag(ReadOnlySpan<byte> block) => block[TypeFlagOffset];

    /// <summary>
    /// The stored checksum equals the sum of the block's bytes with the checksum field taken as
    /// spaces; old tars summed signed bytes, so either sum is accepted.
    /// </summary>
    public static bool HasValidChecksum(ReadOnlySpan<byte> block)
    {
        if (!TryParseOctal(block.Slice(ChecksumOffset, ChecksumLength), out long stored))
        {
            return false;
        }
        long unsignedSum = 0;
        long signedSum = 0;
        for (int i = 0; i < TarSplitFormat.BlockSize; i++)
        {
            byte b = i is >= ChecksumOffset and < ChecksumOffset + ChecksumLength ? (byte)' ' : block[i];
            unsignedSum += b;
            signedSum += (sbyte)b;
        }
        return stored == unsignedSum || stored == signedSum;
    }

    /// <summary>The size field: octal, or GNU's base-256 when the first byte has its high bit set.</summary>
    public static bool TryParseSize(ReadOnlySpan<byte> block, out long size)
    {
        var field = block.Slice(SizeOffset, SizeLength);
        if ((field[0] & 0x80) != 0)
        {
            size = 0;
            if ((field[0] & 0x40) != 0)
            {
                return false; // negative
            }
            long value = field[0] & 0x3F;
            for (int i = 1; i < field.Length; i++)
            {
                if (value > (long.MaxValue >> 8))
                {
                    return false;
                }
                value = (value << 8) | field[i];
            }
            size = value;
            return true;
        }
        return TryParseOctal(field, out size);
    }

    /// <summary>Octal digits, optionally led by spaces and ended by a space or NUL.</summary>
    private static bool TryParseOctal(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        int i = 0;
        while (i < field.Length && field[i] == (byte)' ')
        {
            i++;
        }
        int digits = 0;
        for (; i < field.Length && field[i] is >= (byte)'0' and <= (byte)'7'; i++, digits++)
        {
            if (value > (long.MaxValue >> 3))
            {
                return false;
            }
            value = (value << 3) | (long)(field[i] - '0');
        }
        for (; i < field.Length; i++)
        {
            if (field[i] is not ((byte)' ' or 0))
            {
                return false;
            }
        }
        return digits > 0;
    }

    /// <summary>The <c>size</c> record of a PAX extended header's data, if it has one.</summary>
    public static long? PaxSize(ReadOnlySpan<byte> data)
    {
        long? size = null;
        while (!data.IsEmpty)
        {
            // Each record is "LEN KEY=VALUE\n", LEN counting the whole record.
            int space = data.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(Encoding.ASCII.GetString(data[..space]), out int length) || length <= space || length > data.Length)
            {
                return size;
            }
            var record = data.Slice(space + 1, length - space - 1);
            int equals = record.IndexOf((byte)'=');
            if (equals > 0 && record[..equals].SequenceEqual("size"u8) && record.Length > equals + 1 &&
                long.TryParse(Encoding.ASCII.GetString(record[(equals + 1)..^1]), out long parsed) && parsed >= 0)
            {
                size = parsed;
            }
            data = data[length..];
        }
        return size;
    }
}
