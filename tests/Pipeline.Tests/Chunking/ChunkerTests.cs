using System.Numerics;
using Pipeline.Chunking;

namespace Pipeline.Tests.Chunking;

public sealed class ChunkerTests
{
    [Fact]
    public void Discriminator_DefaultSizes_IsCasyncs()
    {
        // 65536 / (-1.42888852e-7 * 65536 + 1.33237515), truncated, as casync computes it.
        Assert.Equal(49535u, ChunkSizes.Default.Discriminator);
    }

    [Fact]
    public void LeavingTable_EveryByte_IsEnteringRotatedByTheWindow()
    {
        for (int b = 0; b < 256; b++)
        {
            Assert.Equal(BitOperations.RotateLeft(BuzhashTable.Entering[b], ChunkSizes.WindowSize), BuzhashTable.Leaving[b]);
        }
    }

    [Theory]
    [InlineData(48, 64, 128)]
    [InlineData(100, 50, 200)]
    [InlineData(100, 300, 200)]
    [InlineData(4096, 4096, 4096)]
    [InlineData(1024, 4096, 256 * 1024 * 1024)]
    public void ChunkSizes_OutOfOrderOrUnsupported_Throws(int min, int avg, int max)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChunkSizes(min, avg, max));
    }

    [Fact]
    public void FindCut_RandomData_EveryChunkButTheLastIsBetweenMinAndMax()
    {
        var sizes = new ChunkSizes(1024, 4096, 8192);
        var lengths = Cut(ChunkTestData.Random(2_000_000, seed: 1), sizes, feed: int.MaxValue);

        Assert.True(lengths.Count > 100);
        Assert.All(lengths[..^1], l => Assert.InRange(l, sizes.Min, sizes.Max));
        Assert.Contains(lengths, l => l == sizes.Max);
        Assert.Equal(2_000_000, lengths.Sum());
    }

    [Fact]
    public void FindCut_Zeros_CutsExactlyAtMaxAndLeavesTheRest()
    {
        var lengths = Cut(new byte[(3 * ChunkSizes.Default.Max) + 5], ChunkSizes.Default, feed: int.MaxValue);

        Assert.Equal([ChunkSizes.Default.Max, ChunkSizes.Default.Max, ChunkSizes.Default.Max, 5], lengths);
    }

    [Fact]
    public void FindCut_ShorterThanMin_NoCut()
    {
        var chunker = new Chunker(ChunkSizes.Default);

        Assert.Equal(-1, chunker.FindCut(ChunkTestData.Random(ChunkSizes.Default.Min - 1, seed: 2)));
        Assert.Equal(ChunkSizes.Default.Min - 1, chunker.PendingLength);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(47)]
    [InlineData(48)]
    [InlineData(49)]
    [InlineData(1000)]
    [InlineData(65537)]
    public void FindCut_FedInPieces_SameCutsAsInOneSpan(int feed)
    {
        var sizes = new ChunkSizes(256, 1024, 4096);
        var data = ChunkTestData.Random(500_000, seed: 9);

        Assert.Equal(Cut(data, sizes, int.MaxValue), Cut(data, sizes, feed));
    }

    [Fact]
    public void ChunkingStream_RandomWriteSizes_SameChunksAsOneWrite()
    {
        var data = ChunkTestData.Random(1_500_000, seed: 4);
        var whole = Chunks(data, [data.Length]);
        var random = new Random(5);
        var pieces = new List<int>();
        for (int left = data.Length; left > 0;)
        {
            int n = Math.Min(left, random.Next(1, 100_000));
            pieces.Add(n);
            left -= n;
        }

        Assert.Equal(whole, Chunks(data, pieces));
        Assert.Equal(data.Length, whole.Sum(c => c.Length));
    }

    private static List<int> Cut(byte[] data, ChunkSizes sizes, int feed)
    {
        var chunker = new Chunker(sizes);
        var lengths = new List<int>();
        int chunkStart = 0;
        for (int offset = 0; offset < data.Length;)
        {
            var span = data.AsSpan(offset, Math.Min(feed, data.Length - offset));
            int cut = chunker.FindCut(span);
            if (cut < 0)
            {
                offset += span.Length;
                continue;
            }
            offset += cut;
            lengths.Add(offset - chunkStart);
            chunkStart = offset;
        }
        if (chunkStart < data.Length)
        {
            lengths.Add(data.Length - chunkStart);
        }
        return lengths;
    }

    private static List<byte[]> Chunks(byte[] data, IEnumerable<int> writes)
    {
        var chunks = new List<byte[]>();
        var stream = new ChunkingStream(new ChunkSizes(4096, 16384, 65536), c => chunks.Add(c.ToArray()));
        int offset = 0;
        foreach (var n in writes)
        {
            stream.Write(data.AsSpan(offset, n));
            offset += n;
        }
        stream.Complete();
        return chunks;
    }
}
