using System.Collections.Concurrent;
using System.Security.Cryptography;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Pipeline.Deltas;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Deltas;

/// <summary>The pack of a layer's compressed chunks, written into blocks against real Azurite.</summary>
public class ChunkPackWriterTests
{
    [Fact]
    public async Task Pack_EveryStagedBlockCarriesItsContentMd5_AndTheCommittedPackIsWhole()
    {
        var azurite = await AzuriteFixture.GetSharedAsync();
        var seen = new ConcurrentQueue<(string Query, string? ContentMd5)>();
        var options = new BlobClientOptions();
        options.AddPolicy(new RecordBlockRequests(seen), HttpPipelinePosition.PerCall);
        var container = new BlobContainerClient(azurite.ConnectionString, "packtest" + Guid.NewGuid().ToString("N")[..12], options);
        await container.CreateAsync();
        var pack = container.GetBlockBlobClient("pack");

        // Random bytes do not compress: some 20 MiB of pack, three blocks of 8 MiB at most.
        byte[] content = RandomNumberGenerator.GetBytes(20 * 1024 * 1024);
        await using (var writer = new ChunkPackWriter(pack, ChunkPackWriter.NewBlockBuffer()))
        {
            for (int offset = 0; offset < content.Length; offset += 1024 * 1024)
            {
                await writer.WriteAsync(content.AsMemory(offset, 1024 * 1024));
            }
            await writer.CompleteAsync(CancellationToken.None);
            await writer.CommitAsync(CancellationToken.None);
            var properties = await pack.GetPropertiesAsync();
            Assert.Equal(writer.PackSize, properties.Value.ContentLength);
        }

        var blocks = seen.Where(r => r.Query.Contains("comp=block&", StringComparison.Ordinal) || r.Query.EndsWith("comp=block", StringComparison.Ordinal)).ToList();
        Assert.True(blocks.Count >= 3, $"expected at least 3 staged blocks, saw {blocks.Count}");
        // Azurite checks a Content-MD5 it is given: a wrong one would have failed the stage.
        Assert.All(blocks, b => Assert.False(string.IsNullOrEmpty(b.ContentMd5), $"block request {b.Query} has no Content-MD5"));
    }

    [Fact]
    public async Task Pack_WrittenThroughAReusedBlockBuffer_IsTheSameBytes()
    {
        var azurite = await AzuriteFixture.GetSharedAsync();
        var container = new BlobContainerClient(azurite.ConnectionString, "packtest" + Guid.NewGuid().ToString("N")[..12]);
        await container.CreateAsync();
        byte[] content = RandomNumberGenerator.GetBytes(10 * 1024 * 1024 + 12345);
        // A buffer as the previous layer left it: full of its last block.
        var reused = ChunkPackWriter.NewBlockBuffer();
        reused.Write(RandomNumberGenerator.GetBytes(3 * 1024 * 1024));

        async Task<byte[]> PackAsync(string name, MemoryStream buffer)
        {
            var pack = container.GetBlockBlobClient(name);
            await using (var writer = new ChunkPackWriter(pack, buffer))
            {
                await writer.WriteAsync(content);
                await writer.CompleteAsync(CancellationToken.None);
                await writer.CommitAsync(CancellationToken.None);
            }
            return (await pack.DownloadContentAsync()).Value.Content.ToArray();
        }

        byte[] fresh = await PackAsync("fresh", ChunkPackWriter.NewBlockBuffer());
        byte[] viaReused = await PackAsync("reused", reused);
        Assert.Equal(fresh.Length, viaReused.Length);
        Assert.True(fresh.AsSpan().SequenceEqual(viaReused), "the pack written through a reused buffer differs");
        // The buffer stays the caller's: still usable after the writer is gone.
        reused.SetLength(0);
        reused.Write(new byte[1]);
    }

    private sealed class RecordBlockRequests(ConcurrentQueue<(string Query, string? ContentMd5)> seen) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Method == RequestMethod.Put)
            {
                message.Request.Headers.TryGetValue("Content-MD5", out string? md5);
                seen.Enqueue((message.Request.Uri.Query, md5));
            }
        }
    }
}
