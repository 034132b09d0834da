using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Chunking;
using Pipeline.Deltas;
using Pipeline.Oci;
using Pipeline.Tests.Api;
using Pipeline.Tests.Api.Devices;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.Deltas;

/// <summary>
/// Chunk deltas from the server's side, through LocalHost: a committed version's layers are
/// indexed after the commit; a device that accepts chunks gets, for a layer where a few files
/// changed, the index, headers, pack and table, whose bytes rebuild exactly the tar of the
/// config's <c>diff_id</c>, and is told to fetch a small fraction of the layer; a device that does
/// not accept chunks sees no trace of them.
/// </summary>
public sealed class ChunkPlanTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    private static readonly HttpClient Http = new();

    /// <summary>
    /// An app layer of 2,000 files (~10 MB). The update changes three files of one folder, removes
    /// one elsewhere and adds one: a realistic app update.
    /// </summary>
    internal static LayerSpec AppLayer(bool update)
    {
        var files = new List<LayerFile>();
        for (int i = 0; i < 2000; i++)
        {
            if (update && i == 1507)
            {
                continue;
            }
            int seed = update && i is >= 410 and < 413 ? 100_000 + i : i;
            files.Add(LayerFile.Seeded($"app/{i / 100:D2}/file{i:D4}.dat", 2_000 + i % 7 * 1_000, seed));
        }
        if (update)
        {
            files.Add(LayerFile.Seeded("app/new/added.dat", 12_345, 777));
        }
        return LayerSpec.Of([.. files]);
    }

    [Fact]
    public async Task Plan_AcceptChunks_PartsRebuildTheDiffIdAndOnlyChangedChunksAreToFetch()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await pipeline.Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read", "deploy");
        string repository = RegistryFixture.NewRepository("chunks");
        var v1 = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "1", [ArchSpec.Amd64(AppLayer(update: false))]);
        var v2 = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "2", [ArchSpec.Amd64(AppLayer(update: true))]);
        var imported = await pipeline.Api.ImportAndWaitAsync(key, customer, new JsonObject { ["name"] = "chunked", ["image_sources"] = ApiClient.Sources([("amd64", v1.Reference)]) });
        string serviceId = imported.Str("node_service_id");
        string deviceId = "gw-ch-" + Guid.NewGuid().ToString("N")[..10];
        string deviceKey = await pipeline.Api.RegisterDeviceOkAsync(key, customer, deviceId, "amd64");
        string instance = (await pipeline.Api.AddInstanceOkAsync(key, serviceId, deviceId)).Str("node_service_instance_id");
        var layer1 = v1.For("amd64").Layers.Single().Digest;
        var indexes = new LayerIndexStore(new FleetSeed(pipeline.Azurite.ConnectionString).Storage);
        var index1 = await WaitForIndexAsync(indexes, layer1);

        await pipeline.Api.ImportAndWaitAsync(key, customer, new JsonObject { ["name"] = "chunked", ["image_sources"] = ApiClient.Sources([("amd64", v2.Reference)]) });
        var layer2 = v2.For("amd64").Layers.Single();
        var index2 = await WaitForIndexAsync(indexes, layer2.Digest);
        using var device = new DeviceClient(pipeline.Host.BaseUri);
        string[] have = [layer1.ToString(), v1.For("amd64").ConfigDigest.ToString()];

        var old = (await device.PlanAsync(deviceKey, deviceId, instance, have)).Expect(System.Net.HttpStatusCode.OK);
        var plan = (await device.PostAsync(deviceKey, $"/api/devices/{deviceId}/instances/{instance}/plan",
            JsonSerializer.Serialize(new { have, accept = new[] { "chunks", "something-newer" } }))).Expect(System.Net.HttpStatusCode.OK);

        // A device that did not ask sees today's answer.
        Assert.DoesNotContain("chunks", old.GetRawText(), StringComparison.Ordinal);
        var blob = plan.GetProperty("blobs").EnumerateArray().Single(b => b.Str("digest") == layer2.Digest.ToString());
        var chunks = blob.GetProperty("chunks");
        Assert.Equal(index2.DiffId.ToString(), chunks.Str("diff_id"));
        var indexBytes = await FetchVerifiedAsync(chunks.GetProperty("index"));
        var headerBytes = await FetchVerifiedAsync(chunks.GetProperty("headers"));
        var tableBytes = await FetchVerifiedAsync(chunks.GetProperty("pack_table"));
        var caibx = await CaibxReader.ReadAsync(new MemoryStream(indexBytes));
        var v1Ids = (await CaibxReader.ReadAsync(new MemoryStream(await StoredAsync(index1.Index)))).Entries.Select(e => e.Id).ToHashSet();

        // What the server says to fetch: the three parts and the frames of chunks v1 does not have.
        var frames = Enumerable.Range(0, tableBytes.Length / 4).Select(i => (long)BinaryPrimitives.ReadUInt32LittleEndian(tableBytes.AsSpan(i * 4))).ToArray();
        var seen = new HashSet<ChunkId>(v1Ids);
        long expected = indexBytes.Length + headerBytes.Length + tableBytes.Length
            + caibx.Entries.Select((e, i) => seen.Add(e.Id) ? frames[i] : 0).Sum();
        Assert.Equal(expected, chunks.GetProperty("bytes_to_download").GetInt64());
        Assert.True(expected * 20 <= layer2.Size, $"{expected} bytes to fetch of a {layer2.Size}-byte layer: index {indexBytes.Length}, headers {headerBytes.Length}, table {tableBytes.Length}, {caibx.Entries.Count(e => !v1Ids.Contains(e.Id))} of {caibx.Entries.Count} chunks new");

        // The pack, read with Range, and the headers rebuild the exact tar of the diff_id.
        var pack = chunks.GetProperty("pack");
        using var contents = new MemoryStream();
        using var codec = new ChunkCodec();
        long offset = 0;
        for (int i = 0; i < caibx.Entries.Count; i++)
        {
            var frame = await RangeAsync(pack.Str("url"), offset, frames[i]);
            contents.Write(codec.DecompressVerified(frame, caibx.Entries[i].Id, caibx.Entries[i].Length));
            offset += frames[i];
        }
        Assert.Equal(pack.GetProperty("size").GetInt64(), offset);
        contents.Position = 0;
        using var headers = new ZstdSharp.DecompressionStream(new MemoryStream(headerBytes));
        using var tar = new MemoryStream();
        var rebuilt = await TarRebuild.RebuildAsync(headers, contents, tar, Convert.FromHexString(index2.DiffId.Hex));
        Assert.Equal(chunks.GetProperty("tar_size").GetInt64(), rebuilt.TarLength);
        Assert.Equal(index2.DiffId.Hex, Convert.ToHexStringLower(SHA256.HashData(tar.ToArray())));
    }

    internal static async Task<LayerIndexRecord> WaitForIndexAsync(LayerIndexStore indexes, Digest layer)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (await indexes.GetAsync(layer, CancellationToken.None) is { } record)
            {
                return record;
            }
            Assert.True(DateTime.UtcNow < deadline, $"layer {layer} was not indexed within a minute");
            await Task.Delay(200);
        }
    }

    private static async Task<byte[]> FetchVerifiedAsync(JsonElement part)
    {
        var bytes = await Http.GetByteArrayAsync(part.Str("url"));
        Assert.Equal(part.GetProperty("size").GetInt64(), bytes.Length);
        Assert.Equal(part.Str("digest"), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
        return bytes;
    }

    /// <summary>A stored blob, read straight from storage (v1's index: what the device would hold as seeds).</summary>
    private async Task<byte[]> StoredAsync(Descriptor blob)
    {
        var container = new Azure.Storage.Blobs.BlobContainerClient(pipeline.Azurite.ConnectionString, Storage.PipelineStorage.SnapshotsContainer);
        return (await container.GetBlobClient("sha256/" + blob.Digest.Hex).DownloadContentAsync()).Value.Content.ToArray();
    }

    private static async Task<byte[]> RangeAsync(string url, long offset, long length)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(offset, offset + length - 1);
        using var response = await Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.PartialContent, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }
}
