using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Pipeline.Deltas;
using Pipeline.Tests.Api;
using Pipeline.Tests.Deltas;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// Chunk deltas end to end: v1 and v2 of an app (a few files changed) built by umoci, pushed by
/// skopeo, imported through LocalHost into Azurite and indexed after their commits; the agent
/// takes v1 whole (nothing to reuse yet) and keeps its chunks as seeds, then downloads only the
/// changed chunks of v2, rebuilds the layer's tar and verifies it against the diff_id.
/// </summary>
public sealed class AgentChunkEndToEndTests(PipelineFixture pipeline, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PipelineFixture>
{
    private ApiClient Api => pipeline.Api;

    [Fact]
    public async Task Agent_V2WithAFewFilesChanged_DownloadsOnlyTheChangedChunksAndRebuildsTheVerifiedTar()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read", "deploy");
        string repository = RegistryFixture.NewRepository("agent-chunks");
        var v1 = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "1", [ArchSpec.Amd64(ChunkPlanTests.AppLayer(update: false))]);
        var v2 = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "2", [ArchSpec.Amd64(ChunkPlanTests.AppLayer(update: true))]);
        var imported = await ImportAsync(key, customer, v1.Reference);
        string serviceId = imported.Str("node_service_id");
        string deviceId = "gw-ac-" + Guid.NewGuid().ToString("N")[..10];
        string deviceKey = await Api.RegisterDeviceOkAsync(key, customer, deviceId, "amd64");
        string instance = (await Api.AddInstanceOkAsync(key, serviceId, deviceId)).Str("node_service_instance_id");
        var indexes = new LayerIndexStore(new FleetSeed(pipeline.Azurite.ConnectionString).Storage);
        await ChunkPlanTests.WaitForIndexAsync(indexes, v1.For("amd64").Layers.Single().Digest);
        using var agent = AgentProcess.For(pipeline.Host.BaseUri, deviceId, deviceKey);

        var first = await agent.OnceAsync();
        Assert.True(first.ExitCode == 0, first.StdErr + first.StdOut);
        Assert.Equal("versions/1", agent.Current(instance));
        long wholeV1 = agent.DownloadedBytes().Values.Sum();

        await ImportAsync(key, customer, v2.Reference);
        var layer2 = v2.For("amd64").Layers.Single();
        var index2 = await ChunkPlanTests.WaitForIndexAsync(indexes, layer2.Digest);
        var second = await agent.OnceAsync();
        Assert.True(second.ExitCode == 0, second.StdErr + second.StdOut);

        Assert.Equal("versions/2", agent.Current(instance));
        long fetched = agent.DownloadedBytes().Values.Sum();
        long config = v2.For("amd64").ConfigSize;
        output.WriteLine($"v1 whole: {wholeV1} bytes; v2 as chunks: {fetched} bytes ({config} config) for a {layer2.Size}-byte layer: 1/{layer2.Size / (double)(fetched - config):0.0}");
        Assert.True((fetched - config) * 20 <= layer2.Size, $"the agent fetched {fetched} bytes ({config} of them the config) for a {layer2.Size}-byte layer; v1 took {wholeV1}");
        Assert.DoesNotContain("downloading the whole layer", second.StdOut + second.StdErr, StringComparison.Ordinal);
        string tar = Path.Combine(agent.StoreRoot, "layers", "sha256", layer2.Digest.Hex, "layer.tar");
        await using (var stream = File.OpenRead(tar))
        {
            Assert.Equal(index2.DiffId.Hex, Convert.ToHexStringLower(await SHA256.HashDataAsync(stream)));
        }
        await AgentEndToEndTests.AssertStatusAsync(Api, key, serviceId, instance, 2, null);
    }

    private async Task<System.Text.Json.JsonElement> ImportAsync(string key, string customer, string reference)
    {
        var import = await Api.ImportAndWaitAsync(key, customer, new JsonObject
        {
            ["name"] = "chunked-app",
            ["image_sources"] = ApiClient.Sources([("amd64", reference)]),
        }, TimeSpan.FromMinutes(1));
        Assert.True(import.Str("status") == "completed", import.ToString());
        return import;
    }
}
