using Pipeline.Chunking;

namespace Pipeline.Tests.Chunking;

public sealed class ChunkStoreTests
{
    [Fact]
    public async Task PutThenGet_Chunk_StoredUnderCasyncPathAndVerified()
    {
        using var dir = new TempFolder();
        var store = new ChunkStore(dir.Path);
        using var codec = new ChunkCodec();
        var chunk = ChunkTestData.Random(70_000, seed: 1);

        var id = store.Put(codec, chunk);

        var hex = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(chunk));
        Assert.Equal(hex, id.ToString());
        Assert.True(File.Exists(Path.Combine(dir.Path, hex[..4], hex + ".cacnk")));
        Assert.Equal(chunk, await store.GetAsync(codec, id, ChunkSizes.Default.Max));
    }

    [Fact]
    public async Task GetAsync_CorruptedFile_ThrowsChunkVerificationException()
    {
        using var dir = new TempFolder();
        var store = new ChunkStore(dir.Path);
        using var codec = new ChunkCodec();
        var id = store.Put(codec, ChunkTestData.Random(70_000, seed: 2));
        var bytes = File.ReadAllBytes(store.PathOf(id));
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(store.PathOf(id), bytes);

        await Assert.ThrowsAsync<ChunkVerificationException>(() => store.GetAsync(codec, id, ChunkSizes.Default.Max));
    }

    [Fact]
    public void DecompressVerified_AnotherChunksBytes_Throws()
    {
        using var codec = new ChunkCodec();
        var compressed = codec.Compress(ChunkTestData.Random(1000, seed: 3));
        var otherId = ChunkId.Compute(ChunkTestData.Random(1000, seed: 4));

        var e = Assert.Throws<ChunkVerificationException>(() => codec.DecompressVerified(compressed, otherId, 1000));
        Assert.Equal(otherId, e.Expected);
    }

    [Fact]
    public void DecompressVerified_ExpandsBeyondTheCap_Throws()
    {
        using var codec = new ChunkCodec();
        var chunk = new byte[100_000];
        var compressed = codec.Compress(chunk);

        Assert.Throws<ChunkVerificationException>(() => codec.DecompressVerified(compressed, ChunkId.Compute(chunk), 50_000));
    }

    [Fact]
    public void ChunkId_ParseToString_RoundTrips()
    {
        var id = ChunkId.Compute("x"u8);

        Assert.Equal(id, ChunkId.Parse(id.ToString()));
        Assert.Equal(id, ChunkId.Parse(id.ToString().ToUpperInvariant()));
        Assert.Throws<FormatException>(() => ChunkId.Parse("abc"));
    }
}
