namespace Pipeline.Chunking;

/// <summary>
/// The minimum, average and maximum chunk size of a content-defined chunking, and the
/// discriminator casync derives from the average. These four numbers decide every cut, so a
/// server and a device that chunk with the same sizes cut the same bytes at the same places.
/// </summary>
/// <remarks>
/// Mirrors <c>ca_chunker_set_size</c> in casync's <c>src/cachunker.c</c> for explicitly given
/// sizes. Fixed-size chunking (min = avg = max), which casync handles on a separate path, is
/// not supported, and neither is a minimum at or below the 48-byte hash window: layers never
/// need either, and refusing them keeps a single, tested path.
/// </remarks>
public readonly record struct ChunkSizes
{
    /// <summary>The hash window: a cut depends only on the last 48 bytes.</summary>
    public const int WindowSize = 48;

    /// <summary>casync's lower limit on any chunk size (<c>CA_CHUNK_SIZE_LIMIT_MIN</c>).</summary>
    public const int LimitMin = 1;

    /// <summary>casync's upper limit on any chunk size (<c>CA_CHUNK_SIZE_LIMIT_MAX</c>, 128 MiB).</summary>
    public const int LimitMax = 128 * 1024 * 1024;

    /// <summary>casync's defaults, 16/64/256 KiB: what <c>casync make</c> uses without <c>--chunk-size</c>.</summary>
    public static ChunkSizes Default { get; } = new(16 * 1024, 64 * 1024, 256 * 1024);

    /// <summary>Validates the sizes and derives the discriminator as casync does.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The sizes are out of order or out of casync's limits.</exception>
    public ChunkSizes(int min, int avg, int max)
    {
        if (min <= WindowSize || avg > LimitMax || max > LimitMax || min > avg || avg > max)
        {
            throw new ArgumentOutOfRangeException(
                nameof(min), $"Chunk sizes {min}/{avg}/{max} must satisfy {WindowSize} < min <= avg <= max <= {LimitMax}.");
        }
        if (min == avg && avg == max)
        {
            throw new ArgumentOutOfRangeException(nameof(min), "Fixed-size chunking (min = avg = max) is not supported.");
        }
        Min = min;
        Avg = avg;
        Max = max;
        Discriminator = DiscriminatorFor(avg, min, max);
    }

    public int Min { get; }

    public int Avg { get; }

    public int Max { get; }

    /// <summary>A cut falls where <c>hash % Discriminator == Discriminator - 1</c>.</summary>
    public uint Discriminator { get; }

    /// <summary>
    /// casync's <c>CA_CHUNKER_DISCRIMINATOR_FROM_AVG</c>: chunks come out about 1.32 times larger
    /// than the modulus, so the modulus is corrected down from the average; then clamped to
    /// [min, max]. Computed in doubles and truncated exactly as the C macro does.
    /// </summary>
    private static uint DiscriminatorFor(int avg, int min, int max)
    {
        double a = avg;
        var d = (ulong)(a / (-1.42888852e-7 * a + 1.33237515));
        d = Math.Clamp(d, (ulong)min, (ulong)max);
        return (uint)d;
    }
}
