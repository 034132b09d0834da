using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// A bad version meets a real device: imported through LocalHost from the CNCF registry under a
/// monitored policy, installed by <c>pipeline-agent</c> whose health check fails on it, rolled
/// back by the rollout, and the agent returns to the previous version and reports it healthy;
/// <c>DM_get_rollout</c> says why.
/// </summary>
public sealed class AgentRollbackTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    private ApiClient Api => pipeline.Api;

    private static ArchSpec Image(int appSeed) => ArchSpec.Amd64(
        LayerSpec.SeededData(500_000, seed: 41, "base/lib.bin"),
        LayerSpec.SeededData(100_000, appSeed, "app/app.bin"));

    [Fact]
    public async Task Agent_VersionFailsItsHealthCheck_IsRolledBackAndTheAgentReturnsToThePreviousOne()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read", "deploy");
        string repository = RegistryFixture.NewRepository("rollback");
        var v1Image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "1", [Image(appSeed: 50)]);
        var v1 = await ImportAsync(key, customer, v1Image.Reference, new JsonObject
        {
            ["soak_seconds"] = 1,
            ["report_timeout_seconds"] = 120,
            ["max_failure_percent"] = 50,
        });
        string serviceId = v1.Str("node_service_id");
        string deviceId = "gw-rb-" + Guid.NewGuid().ToString("N")[..10];
        string deviceKey = await Api.RegisterDeviceOkAsync(key, customer, deviceId, "amd64");
        string instance = (await Api.AddInstanceOkAsync(key, serviceId, deviceId, null)).Str("node_service_instance_id");
        using var agent = AgentProcess.For(pipeline.Host.BaseUri, deviceId, deviceKey);
        // Version 2 crashes on start: its health check fails.
        string[] health = ["--health-cmd", "test \"$AGENT_VERSION\" != 2 || { echo 'v2 crashed: missing /etc/app.conf'; exit 1; }; echo \"v$AGENT_VERSION ok\""];

        var first = await agent.OnceAsync(health);
        Assert.True(first.ExitCode == 0, first.StdErr + first.StdOut);
        Assert.Equal("versions/1", agent.Current(instance));
        // Version 1's rollout found nobody following the latest, or this one instance healthy.
        Assert.Equal("completed", (await WaitForRolloutAsync(key, serviceId, 1)).Str("state"));

        var v2Image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "2", [Image(appSeed: 51)]);
        var v2 = await ImportAsync(key, customer, v2Image.Reference, null);
        Assert.Equal(2, v2.GetProperty("container_version").GetInt32());
        Assert.Equal("rolling_out", (await RolloutAsync(key, serviceId, 2)).Str("state"));

        // The agent installs version 2; its health check fails and it says so.
        await agent.OnceAsync(health);
        Assert.Equal("versions/2", agent.Current(instance));
        var rollout = await WaitForRolloutAsync(key, serviceId, 2);
        Assert.Equal("rolled_back", rollout.Str("state"));
        Assert.Contains("v2 crashed: missing /etc/app.conf", rollout.Str("reason"));
        Assert.Contains("1 of 1", rollout.Str("reason"));
        var wave = rollout.GetProperty("waves")[0];
        Assert.Equal((100, 1, 0, 1, 0), (wave.GetProperty("percent").GetInt32(), wave.GetProperty("instances").GetInt32(),
            wave.GetProperty("healthy").GetInt32(), wave.GetProperty("failed").GetInt32(), wave.GetProperty("pending").GetInt32()));

        // The instance resolves to version 1 again; the agent switches back without downloading and reports it healthy.
        Assert.Equal(1, await TargetVersionAsync(key, serviceId, instance));
        var back = await agent.OnceAsync(health);
        Assert.True(back.ExitCode == 0, back.StdErr + back.StdOut);
        Assert.Equal("versions/1", agent.Current(instance));
        Assert.Empty(agent.DownloadedBytes());
        await AgentEndToEndTests.AssertStatusAsync(Api, key, serviceId, instance, 1, "v1 ok");
        // The service's newest version is still 2, but nobody following the latest gets it.
        Assert.Equal("rolled_back", (await RolloutAsync(key, serviceId, 2)).Str("state"));
    }

    private async Task<JsonElement> ImportAsync(string key, string customer, string reference, JsonObject? policy)
    {
        var input = new JsonObject
        {
            ["name"] = "rollback-app",
            ["image_sources"] = ApiClient.Sources([("amd64", reference)]),
        };
        if (policy is not null)
        {
            input["rollout_policy"] = policy;
        }
        var import = await Api.ImportAndWaitAsync(key, customer, input, TimeSpan.FromMinutes(1));
        Assert.True(import.Str("status") == "completed", import.ToString());
        return import;
    }

    private async Task<JsonElement> RolloutAsync(string key, string serviceId, int version) =>
        (await Api.QueryAsync(key, "query($s: ID!, $v: Int!) { DM_get_rollout(node_service_id: $s, container_version: $v) { node_service_id container_version state current_wave reason waves { percent instances healthy failed pending } } }",
            new { s = serviceId, v = version })).Ok().GetProperty("DM_get_rollout");

    private async Task<JsonElement> WaitForRolloutAsync(string key, string serviceId, int version)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var rollout = await RolloutAsync(key, serviceId, version);
            if (rollout.Str("state") != "rolling_out")
            {
                return rollout;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the rollout of version {version} is still rolling out: {rollout}");
            await Task.Delay(200);
        }
    }

    private async Task<int?> TargetVersionAsync(string key, string serviceId, string instance)
    {
        var instances = (await Api.QueryAsync(key, "query($s: ID!) { DM_get_node_service_instances(node_service_id: $s) { instances { node_service_instance_id target_version } } }",
            new { s = serviceId })).Ok().GetProperty("DM_get_node_service_instances").GetProperty("instances");
        var target = instances.EnumerateArray().Single(i => i.Str("node_service_instance_id") == instance).GetProperty("target_version");
        return target.ValueKind == JsonValueKind.Null ? null : target.GetInt32();
    }
}
