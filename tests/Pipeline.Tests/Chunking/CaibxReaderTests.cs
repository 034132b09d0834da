using System.Buffers.Binary;
using Pipeline.Chunking;

namespace Pipeline.Tests.Chunking;

public sealed class CaibxReaderTests
{
    private static byte[] ValidIndex(int chunks)
    {
        using var output = new MemoryStream();
        var writer = new CaibxWriter(output, ChunkSizes.Default);
        for (int i = 0; i < chunks; i++)
        {
            writer.Add(ChunkId.Compute([(byte)i]), 20_000 + i);
        }
        writer.Complete();
        return output.ToArray();
    }

    private const int FirstItem = CaibxFormat.IndexHeaderSize + CaibxFormat.TableHeaderSize;

    [Fact]
    public async Task ReadAsync_WrittenIndex_RoundTrips()
    {
        var index = await CaibxReader.ReadAsync(new MemoryStream(ValidIndex(3)));

        Assert.Equal(3, index.Entries.Count);
        Assert.Equal(ChunkId.Compute([2]), index.Entries[2].Id);
        Assert.Equal(20_000 + 20_001 + 20_002, index.BlobLength);
        Assert.Equal(20_001, index.Entries[1].Length);
    }

    public static TheoryData<string> Damages() => new()
    {
        "bad-magic", "sha512-flag", "unknown-flag", "min-above-avg", "table-type", "offsets-decrease",
        "chunk-above-max", "tail-size", "tail-marker-zero-offset", "trailing-byte", "truncated-item", "truncated-head",
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task ReadAsync_Damaged_ThrowsCaibxFormatException(string damage)
    {
        var bytes = ValidIndex(3);
        var s = bytes.AsSpan();
        switch (damage)
        {
            case "bad-magic": s[8] ^= 1; break;
            case "sha512-flag": BinaryPrimitives.WriteUInt64LittleEndian(s[16..], CaibxFormat.BlobSha256Flags | CaibxFormat.Sha512_256Flag); break;
            case "unknown-flag": BinaryPrimitives.WriteUInt64LittleEndian(s[16..], CaibxFormat.BlobSha256Flags | 0x0100000000000000); break;
            case "min-above-avg": BinaryPrimitives.WriteUInt64LittleEndian(s[24..], 70_000); break;
            case "table-type": s[FirstItem - 1] ^= 1; break;
            case "offsets-decrease": BinaryPrimitives.WriteUInt64LittleEndian(s[(FirstItem + CaibxFormat.ItemSize)..], 10); break;
            case "chunk-above-max": BinaryPrimitives.WriteUInt64LittleEndian(s[FirstItem..], 300_000); break;
            case "tail-size": s[^16] ^= 1; break;
            case "tail-marker-zero-offset": s[^1] ^= 1; break;
            case "trailing-byte": bytes = [.. bytes, 0]; break;
            case "truncated-item": bytes = bytes[..(FirstItem + 20)]; break;
            case "truncated-head": bytes = bytes[..30]; break;
        }

        await Assert.ThrowsAsync<CaibxFormatException>(() => CaibxReader.ReadAsync(new MemoryStream(bytes)));
    }

    [Fact]
    public async Task ReadAsync_MoreEntriesThanAllowed_Throws()
    {
        await Assert.ThrowsAsync<CaibxFormatException>(() => CaibxReader.ReadAsync(new MemoryStream(ValidIndex(5)), maxEntries: 4));
    }
}
