namespace Pipeline.Tests.Chunking;

/// <summary>Reproducible inputs for the chunker: fixed seeds, so a failure replays.</summary>
internal static class ChunkTestData
{
    public static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Random bytes with long zero runs between them, as in sparse images and padded tars.</summary>
    public static byte[] WithZeroRuns(int seed)
    {
        var random = new Random(seed);
        using var buffer = new MemoryStream();
        foreach (var (randomLength, zeroLength) in new[] { (300_000, 1_000_000), (70_000, 20_000), (5_000, 600_000), (400_000, 0) })
        {
            var block = new byte[randomLength];
            random.NextBytes(block);
            buffer.Write(block);
            buffer.Write(new byte[zeroLength]);
        }
        return buffer.ToArray();
    }
}
