using System.Security.Cryptography;
using System.Text.Json;
using Pipeline.Chunking;
using Pipeline.Tests.Fixtures;
using Xunit.Abstractions;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// Issue 15, the device half: <c>pipeline-agent</c> as a process against a fake server that offers
/// chunk deltas built with the chunk format library from real tars. A layer that came whole seeds
/// the next version; a delta costs its index, headers, table and the missing chunks; the rebuilt
/// tar is checked against the <c>diff_id</c> and kept uncompressed; a delta that rebuilds the wrong
/// tar is discarded for the whole layer (TEST-MATRIX row 35); a cut pack resumes (row 31).
/// </summary>
public sealed class AgentChunkTests(ITestOutputHelper output) : FakeApiAgentTests
{
    private const string Instance = "inst-c";
    private const int Files = 2000;
    private static readonly DateTimeOffset Monday = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Once_FewFilesChanged_FetchesOnlyIndexHeadersTableAndMissingChunksAndInstallsTheVerifiedTar()
    {
        var v1Layer = await InstallWholeAsync(1, LayerTars.Create(Files, _ => 0, Monday));
        // Three files of 2,000 get new bytes.
        var v2Layer = await ChunkedLayer.BuildAsync(LayerTars.Create(Files, i => i is 17 or 1000 or 1999 ? 1 : 0, Monday.AddDays(1)));
        var served = v2Layer.Serve(Api, v1Layer);
        var v2 = Api.AddVersion(2, v2Layer.Compressed);
        Api.SetTarget(Instance, v2);

        var second = await Agent.OnceAsync();

        Assert.True(second.ExitCode == 0, second.StdErr + second.StdOut);
        Assert.Equal("versions/2", Agent.Current(Instance));
        Assert.All(Api.Accepts, a => Assert.Equal("chunks", a));
        var record = Download(v2Layer.Digest);
        long received = record.GetProperty("bytes_downloaded").GetInt64();
        Assert.Equal("chunks", record.GetProperty("via").GetString());
        Assert.Equal(served.SentBytes(Api.Blobs), received);
        Assert.Equal(0, Api.Blobs.SentBytes(v2Layer.Digest));
        Assert.Equal(v2Layer.MissingBytes(v1Layer), Api.Blobs.SentBytes(served.Pack));
        Assert.True(received * 20 <= v2Layer.Compressed.Length, $"{received} bytes for a {v2Layer.Compressed.Length}-byte layer");
        // Neighbouring missing chunks came in one request each run, never one request per chunk.
        Assert.True(Api.Blobs.Requests(served.Pack) <= v2Layer.MissingFrom(v1Layer).Count);
        AssertTarInstalled(v2Layer);
        output.WriteLine($"few files changed: {received} of {v2Layer.Compressed.Length} compressed bytes ({(double)received / v2Layer.Compressed.Length:P2}); " +
            $"{record.GetProperty("chunks_fetched").GetInt32()} chunks fetched, {record.GetProperty("chunks_reused").GetInt32()} reused, {Api.Blobs.Requests(served.Pack)} pack requests");

        // The layer held as a tar counts as held: a version 3 with the same layer plans only its config.
        var v3 = Api.AddVersion(3, v2Layer.Compressed);
        Api.SetTarget(Instance, v3);
        var third = await Agent.OnceAsync();
        Assert.True(third.ExitCode == 0, third.StdErr);
        Assert.Equal([v3.Config], Agent.DownloadedBytes().Keys);
        Assert.Equal("versions/3", Agent.Current(Instance));

        // Version 1 is no longer kept: its blob, its layer folder and the chunks only it had are collected.
        Assert.False(File.Exists(Agent.BlobPath(v1Layer.Digest)));
        Assert.False(Directory.Exists(Path.Combine(Agent.StoreRoot, "layers", "sha256", v1Layer.Digest[7..])));
        var seeds = Directory.EnumerateFiles(Path.Combine(Agent.StoreRoot, "chunks"), "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(v2Layer.Entries.Select(e => e.Id + ".cacnk").Distinct().Order(StringComparer.Ordinal), seeds);
        AssertTarInstalled(v2Layer);
    }

    [Fact]
    public async Task Once_SameFilesNewMtimes_FetchesNoChunkOnlyTheSmallFiles()
    {
        var v1Layer = await InstallWholeAsync(1, LayerTars.Create(Files, _ => 0, Monday));
        var v2Layer = await ChunkedLayer.BuildAsync(LayerTars.Create(Files, _ => 0, Monday.AddHours(5)));
        Assert.NotEqual(v1Layer.DiffId, v2Layer.DiffId);
        var served = v2Layer.Serve(Api, v1Layer);
        Api.SetTarget(Instance, Api.AddVersion(2, v2Layer.Compressed));

        var second = await Agent.OnceAsync();

        Assert.True(second.ExitCode == 0, second.StdErr + second.StdOut);
        Assert.Equal("versions/2", Agent.Current(Instance));
        long received = Download(v2Layer.Digest).GetProperty("bytes_downloaded").GetInt64();
        Assert.Equal(0, Api.Blobs.Requests(served.Pack));
        Assert.Equal(served.SentBytes(Api.Blobs), received);
        Assert.True(received * 50 <= v2Layer.Compressed.Length, $"{received} bytes for a {v2Layer.Compressed.Length}-byte layer");
        AssertTarInstalled(v2Layer);
        output.WriteLine($"mtime-only rebuild: {received} of {v2Layer.Compressed.Length} compressed bytes ({(double)received / v2Layer.Compressed.Length:P2})");
    }

    [Theory]
    [InlineData("headers")]
    [InlineData("index")]
    [InlineData("diff_id")]
    public async Task Once_DeltaRebuildsAWrongTar_DiscardsItAndInstallsTheWholeLayer(string wrong)
    {
        var v1Layer = await InstallWholeAsync(1, LayerTars.Create(200, _ => 0, Monday));
        var v2Layer = await ChunkedLayer.BuildAsync(LayerTars.Create(200, i => i == 5 ? 1 : 0, Monday));
        ServedDelta served;
        switch (wrong)
        {
            case "headers":
                // One header changed (an mtime digit) and the digest it records made to match: a
                // well-formed stream, served under its own digest, that rebuilds a tar that is not the diff_id.
                var headers = (byte[])v2Layer.HeadersRaw.Clone();
                headers[TarSplitFormat.Magic.Length + 1 + 140] ^= 0x01;
                var tampered = SHA256.HashData(Pipeline.Tests.Chunking.TarRebuildHelpers.RebuildIgnoringDigest(headers, v2Layer.Contents));
                tampered.CopyTo(headers, headers.Length - 32);
                served = v2Layer.Serve(Api, v1Layer, headersRaw: headers);
                break;
            case "index":
                // Version 1's index, pack and table with version 2's headers: chunks that verify, contents that do not fit.
                served = v2Layer.Serve(Api, v1Layer, index: v1Layer.Index, pack: v1Layer.Pack, packTable: v1Layer.PackTable);
                break;
            default:
                served = v2Layer.Serve(Api, v1Layer);
                Api.Chunks[v2Layer.Digest]["diff_id"] = v1Layer.DiffId;
                break;
        }
        Api.SetTarget(Instance, Api.AddVersion(2, v2Layer.Compressed));

        var second = await Agent.OnceAsync();

        Assert.True(second.ExitCode == 0, second.StdErr + second.StdOut);
        Assert.Contains("the chunk delta was discarded", second.StdErr);
        Assert.Equal("versions/2", Agent.Current(Instance));
        var record = Download(v2Layer.Digest);
        Assert.Equal("whole-after-chunks", record.GetProperty("via").GetString());
        Assert.Equal(v2Layer.Compressed.Length, Api.Blobs.SentBytes(v2Layer.Digest));
        Assert.Equal(served.SentBytes(Api.Blobs) + v2Layer.Compressed.Length, record.GetProperty("bytes_downloaded").GetInt64());
        // The whole layer is what is installed, and it verifies; nothing of the rebuild is left.
        Assert.Equal(v2Layer.Digest, ChunkedLayer.Sha256(await File.ReadAllBytesAsync(Agent.BlobPath(v2Layer.Digest))));
        Assert.False(File.Exists(TarPath(v2Layer.Digest)));
        Assert.False(Directory.Exists(Path.Combine(Agent.StoreRoot, "partial", v2Layer.Digest[7..] + ".chunks")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(Agent.StoreRoot, "partial")));
        // The whole layer was indexed in turn: its diff_id is the real one.
        Assert.Equal(v2Layer.DiffId, LayerJson(v2Layer.Digest).GetProperty("diff_id").GetString());
        Assert.Equal("blob", LayerJson(v2Layer.Digest).GetProperty("held").GetString());
    }

    [Fact]
    public async Task Run_PackCutThenAgentKilled_ResumesWithoutFetchingStoredChunksAgain()
    {
        var v1Layer = await InstallWholeAsync(1, LayerTars.Create(Files, _ => 0, Monday));
        // Every 15th file changed: chunks spread over the whole pack, a few MiB of them.
        var v2Layer = await ChunkedLayer.BuildAsync(LayerTars.Create(Files, i => i % 15 == 3 ? 1 : 0, Monday));
        var served = v2Layer.Serve(Api, v1Layer);
        Api.SetTarget(Instance, Api.AddVersion(2, v2Layer.Compressed));
        var missing = v2Layer.MissingFrom(v1Layer);
        long missingBytes = v2Layer.MissingBytes(v1Layer);
        Assert.True(missingBytes > 2 * 1024 * 1024, $"only {missingBytes} bytes missing");
        // Inside the frames at 30 % and 70 % of the missing bytes: the link drops at the first, goes silent at the second.
        long MidFrameAt(double share)
        {
            long seen = 0;
            foreach (int k in missing)
            {
                if (seen + v2Layer.Frames[k] > missingBytes * share)
                {
                    return v2Layer.Offset(k) + (v2Layer.Frames[k] / 2);
                }
                seen += v2Layer.Frames[k];
            }
            throw new InvalidOperationException();
        }
        long MissingBefore(long offset) => missing.Where(k => v2Layer.Offset(k) < offset).Sum(k => Math.Min(v2Layer.Frames[k], offset - v2Layer.Offset(k)));
        long dropAt = MidFrameAt(0.3), stallAt = MidFrameAt(0.7);
        Api.Blobs.Fault(served.Pack, new BlobFault { DropAt = dropAt, StallAt = stallAt });

        await using (var running = Agent.StartRun("--poll-seconds", "600"))
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Api.Blobs.SentBytes(served.Pack) < MissingBefore(stallAt))
            {
                Assert.True(DateTime.UtcNow < deadline && !running.HasExited, "the pack never reached the stall:\n" + running.ReadLog());
                await Task.Delay(50);
            }
            await Task.Delay(500);
            await running.KillAsync();
        }
        long firstRun = Api.Blobs.SentBytes(served.Pack);
        Assert.False(File.Exists(TarPath(v2Layer.Digest)));
        int indexRequests = Api.Blobs.Requests(served.Index);

        Api.Blobs.Fault(served.Pack, new BlobFault());
        var resumed = await Agent.OnceAsync();

        Assert.True(resumed.ExitCode == 0, resumed.StdErr + resumed.StdOut);
        Assert.Equal("versions/2", Agent.Current(Instance));
        long twice = Api.Blobs.SentBytes(served.Pack) - missingBytes;
        Assert.True(twice is >= 0 and < 1024 * 1024, $"{twice} bytes of the pack crossed the link twice");
        // The index, headers and table a killed agent had verified are not fetched again.
        Assert.Equal(indexRequests, Api.Blobs.Requests(served.Index));
        Assert.Equal(Api.Blobs.SentBytes(served.Pack) - firstRun, Download(v2Layer.Digest).GetProperty("bytes_downloaded").GetInt64());
        AssertTarInstalled(v2Layer);
        output.WriteLine($"cut pack: {missingBytes} bytes missing, {twice} fetched twice, first run {firstRun}, resumed run {Api.Blobs.SentBytes(served.Pack) - firstRun}");
    }

    [Fact]
    public async Task Once_NoChunksFlag_SendsNoAcceptAndTakesTheWholeLayer()
    {
        var v1Layer = await ChunkedLayer.BuildAsync(LayerTars.Create(100, _ => 0, Monday));
        v1Layer.Serve(Api, seed: null);
        Api.SetTarget(Instance, Api.AddVersion(1, v1Layer.Compressed));

        var result = await Agent.OnceAsync("--no-chunks");

        Assert.True(result.ExitCode == 0, result.StdErr + result.StdOut);
        Assert.All(Api.Accepts, a => Assert.Null(a));
        Assert.Equal("whole", Download(v1Layer.Digest).GetProperty("via").GetString());
        Assert.False(Directory.Exists(Path.Combine(Agent.StoreRoot, "layers", "sha256", v1Layer.Digest[7..])));
    }

    /// <summary>Version <paramref name="version"/> with one gzip layer of <paramref name="tar"/>, installed whole (no delta offered).</summary>
    private async Task<ChunkedLayer> InstallWholeAsync(int version, byte[] tar)
    {
        var layer = await ChunkedLayer.BuildAsync(tar);
        Api.MediaTypes[Api.Blobs.Add(layer.Compressed)] = ChunkedLayer.GzipLayer;
        Api.SetTarget(Instance, Api.AddVersion(version, layer.Compressed));
        var first = await Agent.OnceAsync();
        Assert.True(first.ExitCode == 0, first.StdErr + first.StdOut);
        Assert.Equal("whole", Download(layer.Digest).GetProperty("via").GetString());
        // Indexed as seeds: the same diff_id the server computes, and the chunks of its index in the seed store.
        Assert.Equal(layer.DiffId, LayerJson(layer.Digest).GetProperty("diff_id").GetString());
        Assert.All(layer.Entries, e => Assert.True(File.Exists(Path.Combine(Agent.StoreRoot, "chunks", ChunkStore.RelativePath(e.Id)))));
        return layer;
    }

    private void AssertTarInstalled(ChunkedLayer layer)
    {
        string tar = TarPath(layer.Digest);
        Assert.True(File.Exists(tar), "the rebuilt layer.tar is missing");
        Assert.Equal(layer.DiffId, ChunkedLayer.Sha256(File.ReadAllBytes(tar)));
        Assert.False(File.Exists(Agent.BlobPath(layer.Digest)));
        Assert.Equal("tar", LayerJson(layer.Digest).GetProperty("held").GetString());
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Agent.StoreRoot, "instances", Instance, "current", "manifest.json"))).RootElement;
        Assert.Equal(layer.Digest, manifest.GetProperty("layers")[0].GetProperty("digest").GetString());
        Assert.False(Directory.Exists(Path.Combine(Agent.StoreRoot, "partial", layer.Digest[7..] + ".chunks")));
    }

    private JsonElement Download(string digest) =>
        Agent.Report().GetProperty("downloads").EnumerateArray().Single(d => d.GetProperty("digest").GetString() == digest);

    private string TarPath(string digest) => Path.Combine(Agent.StoreRoot, "layers", "sha256", digest[7..], "layer.tar");

    private JsonElement LayerJson(string digest) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Agent.StoreRoot, "layers", "sha256", digest[7..], "layer.json"))).RootElement.Clone();
}
