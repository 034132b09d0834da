using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// The agent at the end of the whole pipeline: images built by umoci and pushed by skopeo into
/// the CNCF registry, imported through LocalHost into Azurite, and pulled by <c>pipeline-agent</c>
/// (a process of its own) through the public device routes, the plan's storage URLs and the
/// deployment queue — then checked where a user would look: the store's bytes, <c>current</c>,
/// and the instance's status in GraphQL.
/// </summary>
public sealed class AgentEndToEndTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    private static readonly TimeSpan ImportTimeout = TimeSpan.FromMinutes(1);

    private ApiClient Api => pipeline.Api;

    private static ArchSpec Image(int appSeed) => ArchSpec.Amd64(
        LayerSpec.SeededData(1_000_000, seed: 21, "base/lib.bin"),
        LayerSpec.SeededData(8_000_000, seed: 22, "data/model.bin"),
        LayerSpec.SeededData(200_000, appSeed, "app/app.bin"));

    [Fact]
    public async Task Agent_ImportV1ThenV2_VerifiesEverythingThenWakesOnTheMessageForOnlyTheChangedLayer()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read", "deploy");
        string repository = RegistryFixture.NewRepository("agent");
        var v1Image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "1", [Image(appSeed: 30)]);
        var v1 = await ImportAsync(key, customer, v1Image.Reference);
        string serviceId = v1.Str("node_service_id");
        string deviceId = "gw-agent-" + Guid.NewGuid().ToString("N")[..10];
        string deviceKey = await Api.RegisterDeviceOkAsync(key, customer, deviceId, "amd64");
        string instance = (await Api.AddInstanceOkAsync(key, serviceId, deviceId, new JsonObject { ["site"] = "north" })).Str("node_service_instance_id");
        using var agent = AgentProcess.For(pipeline.Host.BaseUri, deviceId, deviceKey);

        // Version 1: everything comes down, verifies, becomes current, and the status says so.
        var first = await agent.OnceAsync("--health-cmd", "grep -q north config_map.json && echo \"serving v$AGENT_VERSION\"");
        Assert.True(first.ExitCode == 0, first.StdErr + first.StdOut);
        var pushed1 = v1Image.For("amd64");
        Assert.Equal(Digests(pushed1), agent.StoredDigests());
        foreach (string digest in agent.StoredDigests())
        {
            Assert.Equal(digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(agent.BlobPath(digest)))));
        }
        Assert.Equal("versions/1", agent.Current(instance));
        await AssertStatusAsync(key, serviceId, instance, 1, "serving v1");

        // Version 2 changes the app layer. A running agent that would not poll for minutes learns of
        // it from its deployment message on the queue, and downloads only that layer and the config.
        File.Delete(agent.ReportPath);
        await using var running = agent.StartRun("--poll-seconds", "600", "--queue-connection-string", pipeline.Azurite.ConnectionString);
        await WaitForAsync(() => File.Exists(agent.ReportPath) && agent.Report().GetProperty("ok").GetBoolean(), running, "the first round");
        var v2Image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "2", [Image(appSeed: 31)]);
        var v2 = await ImportAsync(key, customer, v2Image.Reference);
        Assert.Equal(2, v2.GetProperty("container_version").GetInt32());
        await WaitForAsync(() => agent.Current(instance) == "versions/2", running, "version 2 after the deployment message");
        await WaitForAsync(() => agent.Report().GetProperty("instances")[0].GetProperty("current_version").GetInt32() == 2, running, "the round's report");
        var pushed2 = v2Image.For("amd64");
        // The version's message comes from its rollout's first wave, which may be a moment after
        // the commit made version 2 the instance's target (a round woken meanwhile already moves).
        await WaitForAsync(() => running.ReadLog().Contains($"deployment message {instance}:2", StringComparison.Ordinal), running, "the deployment message of version 2");
        var downloaded = agent.DownloadedBytes();
        Assert.Equal(new[] { pushed2.ConfigDigest.ToString(), pushed2.Layers[2].Digest.ToString() }.Order(StringComparer.Ordinal), downloaded.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(pushed2.ConfigSize + pushed2.Layers[2].Size, downloaded.Values.Sum());
        await running.StopAsync();

        // Both versions are kept (the previous one for a rollback), and once finds nothing to do.
        var again = await agent.OnceAsync();
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.Empty(agent.DownloadedBytes());
        Assert.Equal(Digests(pushed1).Union(Digests(pushed2)).Order(StringComparer.Ordinal), agent.StoredDigests());
        Assert.Equal("versions/1", new FileInfo(Path.Combine(agent.Store, "instances", instance, "previous")).LinkTarget);
        await AssertStatusAsync(key, serviceId, instance, 2, null);
    }

    private async Task<JsonElement> ImportAsync(string key, string customer, string reference)
    {
        var import = await Api.ImportAndWaitAsync(key, customer, new JsonObject
        {
            ["name"] = "agent-app",
            ["image_sources"] = ApiClient.Sources([("amd64", reference)]),
        }, ImportTimeout);
        Assert.True(import.Str("status") == "completed", import.ToString());
        return import;
    }

    /// <summary>The instance's last report, read back as a user would: <c>NodeServiceInstance.status</c>.</summary>
    internal static async Task AssertStatusAsync(ApiClient api, string key, string serviceId, string instance, int version, string? message)
    {
        var instances = (await api.QueryAsync(key,
            "query($s: ID!) { DM_get_node_service_instances(node_service_id: $s) { instances { node_service_instance_id status { container_version state healthy message } } } }",
            new { s = serviceId })).Ok().GetProperty("DM_get_node_service_instances").GetProperty("instances");
        var status = instances.EnumerateArray().Single(i => i.Str("node_service_instance_id") == instance).GetProperty("status");
        Assert.Equal((version, "running", true), (status.GetProperty("container_version").GetInt32(), status.Str("state"), status.GetProperty("healthy").GetBoolean()));
        if (message is not null)
        {
            Assert.Equal(message, status.Str("message"));
        }
    }

    private Task AssertStatusAsync(string key, string serviceId, string instance, int version, string? message) =>
        AssertStatusAsync(Api, key, serviceId, instance, version, message);

    internal static IEnumerable<string> Digests(PushedManifest manifest) =>
        manifest.Layers.Select(l => l.Digest.ToString()).Prepend(manifest.ConfigDigest.ToString()).Order(StringComparer.Ordinal);

    internal static async Task WaitForAsync(Func<bool> condition, ServiceProcess agent, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!Safe(condition))
        {
            Assert.True(DateTime.UtcNow < deadline && !agent.HasExited, $"waiting for {what}; the agent's log:\n{agent.ReadLog()}");
            await Task.Delay(100);
        }
    }

    private static bool Safe(Func<bool> condition)
    {
        try
        {
            return condition();
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            // The report is being replaced (read between write and rename), or not there yet.
            return false;
        }
    }
}
