namespace Pipeline.Chunking;

/// <summary>
/// The headers stream that <see cref="TarSplit"/> writes and <see cref="TarRebuild"/> reads:
/// everything of a tar except the data of its regular files, plus where those data go.
/// </summary>
/// <remarks>
/// <para>Why: a layer rebuilt with new mtimes (or new owners, modes, link targets) differs only
/// in its headers. Keeping file data in a separate contents stream, chunked on its own, lets a
/// device reuse every content chunk and download just this small stream (stored zstd-compressed;
/// it is mostly 512-byte header blocks and compresses well).</para>
/// <para>Layout: the 8-byte magic <c>PLTSPLT1</c>, then records, each an opcode byte and its
/// payload; numbers are unsigned LEB128 varints:</para>
/// <list type="table">
/// <item><term><c>0x01</c> header</term><description>512 raw bytes: one tar header block, copied to the output.</description></item>
/// <item><term><c>0x02</c> content n</term><description>copy the next n bytes of the contents stream (one regular file's data, without padding).</description></item>
/// <item><term><c>0x03</c> zeros n</term><description>n zero bytes: padding, end-of-archive blocks, blocking-factor tail.</description></item>
/// <item><term><c>0x04</c> literal n</term><description>n raw bytes follow: the data of PAX (x/g) and GNU long-name (L/K) entries, non-zero padding, anything after the end of the archive, and any part of the tar that does not parse as headers.</description></item>
/// <item><term><c>0x00</c> end</term><description>the tar's length, the contents stream's length (varints) and the tar's 32-byte SHA-256; nothing may follow.</description></item>
/// </list>
/// <para>Every byte of the tar lands in exactly one record, in order, so a rebuild is byte-exact
/// by construction; what is parsed only decides whether bytes travel as content or as literal.
/// Input that does not parse (a bad header checksum, a GNU sparse entry) is carried as literal
/// from there on: still exact, just not deduplicated.</para>
/// </remarks>
public static class TarSplitFormat
{
    /// <summary>"PLTSPLT1": the format's name and version; a change of layout changes the digit.</summary>
    public static ReadOnlySpan<byte> Magic => "PLTSPLT1"u8;

    public const byte End = 0x00;
    public const byte Header = 0x01;
    public const byte Content = 0x02;
    public const byte Zeros = 0x03;
    public const byte Literal = 0x04;

    /// <summary>The tar block size: headers, data padding and end markers are all in 512-byte blocks.</summary>
    public const int BlockSize = 512;
}
