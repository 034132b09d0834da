using Pipeline.Chunking;

namespace Pipeline.Tests.Chunking;

/// <summary>
/// casync is the oracle: the index this library writes must be byte-identical to the one
/// <c>casync make --digest=sha256</c> writes for the same blob, and casync must extract the blob
/// from an index and store written by this library (and the other way round).
/// </summary>
public sealed class CasyncCompatibilityTests
{
    public static TheoryData<string> Inputs() => new() { "random-3MiB", "zero-runs", "shorter-than-min", "empty", "exactly-min", "zeros-max-plus-one" };

    private static byte[] Input(string name) => name switch
    {
        "random-3MiB" => ChunkTestData.Random(3 * 1024 * 1024, seed: 42),
        "zero-runs" => ChunkTestData.WithZeroRuns(seed: 7),
        "shorter-than-min" => ChunkTestData.Random(1000, seed: 3),
        "empty" => [],
        "exactly-min" => ChunkTestData.Random(ChunkSizes.Default.Min, seed: 5),
        "zeros-max-plus-one" => new byte[(4 * ChunkSizes.Default.Max) + 1],
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task IndexAsync_SameBlobAsCasync_IndexAndStoreAreByteIdentical(string name)
    {
        using var dir = new TempFolder();
        File.WriteAllBytes(dir["blob"], Input(name));

        await Casync.MakeBlobIndexAsync(dir["casync-store"], dir["casync.caibx"], dir["blob"]);
        await WriteOursAsync(dir["blob"], dir["our-store"], dir["our.caibx"]);

        Assert.Equal(File.ReadAllBytes(dir["casync.caibx"]), File.ReadAllBytes(dir["our.caibx"]));
        Assert.Equal(StoreNames(dir["casync-store"]), StoreNames(dir["our-store"]));
    }

    [Theory]
    [InlineData(64, 256, 1024, "random")]
    [InlineData(64, 256, 1024, "pattern")]
    [InlineData(1000, 4096, 5000, "random")]
    [InlineData(4096, 4096, 65536, "random")]
    public async Task IndexAsync_SmallSizesManyForcedCuts_IndexIsByteIdentical(int min, int avg, int max, string kind)
    {
        // Small sizes put thousands of min and max boundaries in a small input; a repeating
        // pattern never matches the cut rule, so every chunk is cut at max.
        var sizes = new ChunkSizes(min, avg, max);
        var blob = kind == "random"
            ? ChunkTestData.Random(300_000, seed: min)
            : Enumerable.Range(0, 300_000).Select(i => (byte)(i % 7)).ToArray();
        using var dir = new TempFolder();
        File.WriteAllBytes(dir["blob"], blob);

        await Casync.MakeBlobIndexAsync(dir["casync-store"], dir["casync.caibx"], dir["blob"], sizes);
        await using (var input = File.OpenRead(dir["blob"]))
        await using (var index = File.Create(dir["our.caibx"]))
        {
            await BlobIndexer.IndexAsync(input, new ChunkStore(dir["our-store"]), index, sizes);
        }

        Assert.Equal(File.ReadAllBytes(dir["casync.caibx"]), File.ReadAllBytes(dir["our.caibx"]));
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task CasyncExtract_FromOurIndexAndStore_RebuildsTheBlob(string name)
    {
        using var dir = new TempFolder();
        var blob = Input(name);
        File.WriteAllBytes(dir["blob"], blob);
        await WriteOursAsync(dir["blob"], dir["our-store"], dir["our.caibx"]);

        await Casync.ExtractBlobAsync(dir["our-store"], dir["our.caibx"], dir["out"]);

        Assert.Equal(blob, File.ReadAllBytes(dir["out"]));
    }

    [Fact]
    public async Task GetAsync_CasyncWrittenStore_ReadsAndVerifiesEveryChunk()
    {
        using var dir = new TempFolder();
        var blob = ChunkTestData.Random(1024 * 1024, seed: 11);
        File.WriteAllBytes(dir["blob"], blob);
        await Casync.MakeBlobIndexAsync(dir["store"], dir["x.caibx"], dir["blob"]);

        CaibxIndex index;
        await using (var file = File.OpenRead(dir["x.caibx"]))
        {
            index = await CaibxReader.ReadAsync(file);
        }
        var store = new ChunkStore(dir["store"]);
        using var codec = new ChunkCodec();
        using var rebuilt = new MemoryStream();
        foreach (var entry in index.Entries)
        {
            rebuilt.Write(await store.GetAsync(codec, entry.Id, index.Sizes.Max));
        }

        Assert.Equal(CaibxFormat.BlobSha256Flags, index.FeatureFlags);
        Assert.Equal(ChunkSizes.Default, index.Sizes);
        Assert.True(index.Entries.Count > 4);
        Assert.Equal(blob, rebuilt.ToArray());
    }

    private static async Task WriteOursAsync(string blobPath, string storePath, string indexPath)
    {
        await using var blob = File.OpenRead(blobPath);
        await using var index = File.Create(indexPath);
        await BlobIndexer.IndexAsync(blob, new ChunkStore(storePath), index, ChunkSizes.Default);
    }

    private static string[] StoreNames(string store) =>
        Directory.Exists(store)
            ? Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(store, f))
                .Order(StringComparer.Ordinal)
                .ToArray()
            : [];
}
