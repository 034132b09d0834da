using System.Security.Cryptography;
using Pipeline.Chunking;

namespace Pipeline.Tests.Chunking;

/// <summary>A damaged headers stream or a wrong chunk must never rebuild into a tar that passes as the original.</summary>
public sealed class TarRebuildTests
{
    private static async Task<(byte[] Tar, byte[] Contents, byte[] Headers)> SplitTreeAsync(TempFolder dir)
    {
        TarTree.Create(dir["tree"], ustarSafe: false);
        await TarTree.PackAsync(dir["tree"], dir["layer.tar"], "gnu");
        var tar = File.ReadAllBytes(dir["layer.tar"]);
        using var contents = new MemoryStream();
        using var headers = new MemoryStream();
        await TarSplit.SplitAsync(new MemoryStream(tar), contents, headers);
        return (tar, contents.ToArray(), headers.ToArray());
    }

    [Fact]
    public async Task RebuildAsync_HeaderBlockByteFlipped_ThrowsDigestMismatch()
    {
        using var dir = new TempFolder();
        var (_, contents, headers) = await SplitTreeAsync(dir);
        headers[TarSplitFormat.Magic.Length + 1 + 100] ^= 0x01; // inside the first header block (its mode field)

        var e = await Assert.ThrowsAsync<TarRebuildException>(() => TarSplitTests.RebuildAsync(headers, contents, null));
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public async Task RebuildAsync_RecordedDigestForgedToMatchTamperedHeaders_ThrowsAgainstTheDiffId()
    {
        using var dir = new TempFolder();
        var (tar, contents, headers) = await SplitTreeAsync(dir);
        headers[TarSplitFormat.Magic.Length + 1 + 100] ^= 0x01;
        // Forge the end record: the digest of what the tampered stream rebuilds.
        var tampered = TarRebuildHelpers.RebuildIgnoringDigest(headers, contents);
        SHA256.HashData(tampered).CopyTo(headers.AsSpan(headers.Length - 32));

        Assert.Equal(tampered, await TarSplitTests.RebuildAsync(headers, contents, null));
        await Assert.ThrowsAsync<TarRebuildException>(() => TarSplitTests.RebuildAsync(headers, contents, SHA256.HashData(tar)));
    }

    [Fact]
    public async Task RebuildAsync_WrongContentChunk_ThrowsDigestMismatch()
    {
        using var dir = new TempFolder();
        var (_, contents, headers) = await SplitTreeAsync(dir);
        contents[contents.Length / 2] ^= 0x80;

        await Assert.ThrowsAsync<TarRebuildException>(() => TarSplitTests.RebuildAsync(headers, contents, null));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(+1)]
    public async Task RebuildAsync_ContentsShorterOrLonger_Throws(int delta)
    {
        using var dir = new TempFolder();
        var (_, contents, headers) = await SplitTreeAsync(dir);
        var wrong = delta < 0 ? contents[..^1] : [.. contents, 0];

        await Assert.ThrowsAsync<TarRebuildException>(() => TarSplitTests.RebuildAsync(headers, wrong, null));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(600)]
    [InlineData(-1)]
    public async Task RebuildAsync_HeadersTruncated_Throws(int keep)
    {
        using var dir = new TempFolder();
        var (_, contents, headers) = await SplitTreeAsync(dir);
        var truncated = headers[..(keep >= 0 ? keep : headers.Length - 1)];

        await Assert.ThrowsAsync<TarRebuildException>(() => TarSplitTests.RebuildAsync(truncated, contents, null));
    }

    [Fact]
    public async Task RebuildAsync_UnknownRecord_Throws()
    {
        using var dir = new TempFolder();
        var (_, contents, headers) = await SplitTreeAsync(dir);
        headers[TarSplitFormat.Magic.Length] = 0x7F;

        await Assert.ThrowsAsync<TarRebuildException>(() => TarSplitTests.RebuildAsync(headers, contents, null));
    }
}
