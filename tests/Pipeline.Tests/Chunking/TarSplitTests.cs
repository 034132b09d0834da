using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Pipeline.Chunking;
using Pipeline.Tests.Fixtures;
using ZstdSharp;

namespace Pipeline.Tests.Chunking;

public sealed class TarSplitTests
{
    [Theory]
    [InlineData("gnu")]
    [InlineData("pax")]
    [InlineData("ustar")]
    public async Task SplitAsync_GnuTarOfEveryEntryKind_RebuildsByteIdentical(string format)
    {
        using var dir = new TempFolder();
        TarTree.Create(dir["tree"], ustarSafe: format == "ustar");
        await TarTree.PackAsync(dir["tree"], dir["layer.tar"], format);
        var tar = File.ReadAllBytes(dir["layer.tar"]);
        var listing = (await ProcessRunner.RunAsync("tar", "-tvf", dir["layer.tar"])).StdOut;
        Assert.Contains(listing.Split('\n'), line => line.StartsWith('h'));
        Assert.Contains(listing.Split('\n'), line => line.StartsWith('l'));
        if (format != "ustar")
        {
            // The extension records the split must carry in the headers stream are really there.
            Assert.Contains(format == "gnu" ? "././@LongLink" : "PaxHeaders", Encoding.Latin1.GetString(tar));
        }

        var (contents, headers, result) = await SplitAsync(tar);
        var rebuilt = await RebuildAsync(headers, contents, SHA256.HashData(tar));

        Assert.Equal(tar, rebuilt);
        Assert.Equal(SHA256.HashData(tar), result.TarSha256);
        // The contents are the files' data and nothing else: the tree's regular files, once each.
        Assert.Equal(RegularFileBytes(dir["tree"]), contents.Length);
        Assert.True(headers.Length < tar.Length - contents.Length, "the headers stream must be smaller than the tar's non-data part");
    }

    [Fact]
    public async Task SplitAsync_ExtraZeroBlocksAndTrailingGarbage_RebuildsByteIdentical()
    {
        using var dir = new TempFolder();
        TarTree.Create(dir["tree"], ustarSafe: false);
        await TarTree.PackAsync(dir["tree"], dir["layer.tar"], "gnu");
        var tar = File.ReadAllBytes(dir["layer.tar"]).Concat(new byte[8192]).Concat("trailing junk"u8.ToArray()).Concat(new byte[300]).ToArray();

        var (contents, headers, _) = await SplitAsync(tar);

        Assert.Equal(tar, await RebuildAsync(headers, contents, SHA256.HashData(tar)));
    }

    [Fact]
    public async Task SplitAsync_NotATar_KeptLiteralAndRebuildsByteIdentical()
    {
        var notATar = ChunkTestData.Random(10_000, seed: 8);

        var (contents, headers, _) = await SplitAsync(notATar);

        Assert.Empty(contents);
        Assert.Equal(notATar, await RebuildAsync(headers, contents, SHA256.HashData(notATar)));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task SplitAsync_CompressedLayerDecompressedFirst_RebuildsTheDiffId(string compressor)
    {
        using var dir = new TempFolder();
        TarTree.Create(dir["tree"], ustarSafe: false);
        await TarTree.PackAsync(dir["tree"], dir["layer.tar"], "gnu");
        await ProcessRunner.RunAsync(compressor, "-k", "-q", dir["layer.tar"]);
        var diffId = SHA256.HashData(File.ReadAllBytes(dir["layer.tar"]));
        var compressed = compressor == "gzip" ? dir["layer.tar.gz"] : dir["layer.tar.zst"];

        await using var file = File.OpenRead(compressed);
        await using Stream layer = compressor == "gzip" ? new GZipStream(file, CompressionMode.Decompress) : new DecompressionStream(file);
        using var contents = new MemoryStream();
        using var headers = new MemoryStream();
        var result = await TarSplit.SplitAsync(layer, contents, headers);

        Assert.Equal(diffId, result.TarSha256);
        var rebuilt = await RebuildAsync(headers.ToArray(), contents.ToArray(), diffId);
        Assert.Equal(diffId, SHA256.HashData(rebuilt));
    }

    [Theory]
    [InlineData("gnu")]
    [InlineData("pax")]
    public async Task SplitAsync_OnlyMtimesChanged_ContentsAndTheirChunksIdenticalHeadersDiffer(string format)
    {
        using var dir = new TempFolder();
        TarTree.Create(dir["tree"], ustarSafe: false);
        await TarTree.TouchAllAsync(dir["tree"], "2020-01-02 03:04:05");
        await TarTree.PackAsync(dir["tree"], dir["before.tar"], format);
        await TarTree.TouchAllAsync(dir["tree"], "2024-06-07 08:09:10");
        await TarTree.PackAsync(dir["tree"], dir["after.tar"], format);
        var before = File.ReadAllBytes(dir["before.tar"]);
        var after = File.ReadAllBytes(dir["after.tar"]);

        var (contentsBefore, headersBefore, _) = await SplitAsync(before);
        var (contentsAfter, headersAfter, _) = await SplitAsync(after);

        Assert.NotEqual(before, after);
        Assert.Equal(contentsBefore, contentsAfter);
        Assert.Equal(ChunkIds(contentsBefore), ChunkIds(contentsAfter));
        Assert.NotEqual(headersBefore, headersAfter);
        Assert.Equal(after, await RebuildAsync(headersAfter, contentsBefore, SHA256.HashData(after)));
    }

    private static async Task<(byte[] Contents, byte[] Headers, TarSplitResult Result)> SplitAsync(byte[] tar)
    {
        using var contents = new MemoryStream();
        using var headers = new MemoryStream();
        var result = await TarSplit.SplitAsync(new MemoryStream(tar), contents, headers);
        Assert.Equal(headers.Length, result.HeadersLength);
        Assert.Equal(contents.Length, result.ContentsLength);
        return (contents.ToArray(), headers.ToArray(), result);
    }

    internal static async Task<byte[]> RebuildAsync(byte[] headers, byte[] contents, byte[]? expectedSha256)
    {
        using var output = new MemoryStream();
        var result = await TarRebuild.RebuildAsync(new MemoryStream(headers), new MemoryStream(contents), output, expectedSha256);
        Assert.Equal(SHA256.HashData(output.ToArray()), result.TarSha256);
        return output.ToArray();
    }

    private static List<ChunkId> ChunkIds(byte[] contents)
    {
        var ids = new List<ChunkId>();
        var chunking = new ChunkingStream(new ChunkSizes(1024, 4096, 16384), c => ids.Add(ChunkId.Compute(c)));
        chunking.Write(contents);
        chunking.Complete();
        return ids;
    }

    private static long RegularFileBytes(string root)
    {
        // Hard links share data: count each file once, by its (device, inode) through its first name.
        var seen = new HashSet<string>();
        long total = 0;
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                continue;
            }
            var id = ProcessRunner.RunAsync("stat", "-c", "%d:%i", path).GetAwaiter().GetResult().StdOut.Trim();
            if (seen.Add(id))
            {
                total += info.Length;
            }
        }
        return total;
    }
}
