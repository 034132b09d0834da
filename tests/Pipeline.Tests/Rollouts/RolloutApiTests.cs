using System.Text.Json.Nodes;
using Pipeline.Fleet.Rollout;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.Rollouts;

/// <summary><c>DM_get_rollout</c>, <c>DM_update_node_service_rollout_policy</c> and "latest" during a rollout, through LocalHost's API.</summary>
[Collection(FleetApiCollection.Name)]
public sealed class RolloutApiTests(PipelineFixture pipeline)
{
    private const string GetRollout = "query($s: ID!, $v: Int!) { DM_get_rollout(node_service_id: $s, container_version: $v) { node_service_id container_version state current_wave reason waves { percent } } }";
    private const string SetPolicy = "mutation($s: ID!, $p: RolloutPolicyInput!) { DM_update_node_service_rollout_policy(node_service_id: $s, rollout_policy: $p) }";

    private ApiClient Api => pipeline.Api;

    private FleetSeed Seed => new(pipeline.Azurite.ConnectionString);

    private async Task<(string Customer, string Key)> TenantAsync(params string[] roles)
    {
        string c = PipelineFixture.NewCustomer();
        return (c, await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, roles.Length == 0 ? ["deploy", "read"] : roles));
    }

    [Fact]
    public async Task GetRollout_MissingVersionOrOtherCustomer_IsNotFoundOrForbidden_AnOldVersionIsCompleted()
    {
        var (customer, key) = await TenantAsync();
        var (_, stranger) = await TenantAsync();
        var service = await Seed.AddServiceAsync(customer, "svc", versions: 1);

        var old = (await Api.QueryAsync(key, GetRollout, new { s = service.NodeServiceId, v = 1 })).Ok().GetProperty("DM_get_rollout");
        var missing = await Api.QueryAsync(key, GetRollout, new { s = service.NodeServiceId, v = 2 });
        var foreign = await Api.QueryAsync(stranger, GetRollout, new { s = service.NodeServiceId, v = 1 });

        Assert.Equal(("completed", 1, service.NodeServiceId), (old.Str("state"), old.GetProperty("container_version").GetInt32(), old.Str("node_service_id")));
        Assert.Equal(["NOT_FOUND"], missing.ErrorCodes);
        Assert.Equal(["FORBIDDEN"], foreign.ErrorCodes);
    }

    [Fact]
    public async Task UpdatePolicy_Valid_IsKept_BadIsBadInputNamingTheField_ReadKeyIsForbidden()
    {
        var (customer, key) = await TenantAsync();
        var (_, reader) = await TenantAsync("read");
        var service = await Seed.AddServiceAsync(customer, "svc");
        var readerOfThis = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read");

        (await Api.QueryAsync(key, SetPolicy, new { s = service.NodeServiceId, p = new { waves = new[] { 10, 100 }, soak_seconds = 60, max_failure_percent = 5.5 } })).Ok();
        var bad = await Api.QueryAsync(key, SetPolicy, new { s = service.NodeServiceId, p = new { waves = new[] { 50, 40, 100 } } });
        var forbidden = await Api.QueryAsync(readerOfThis, SetPolicy, new { s = service.NodeServiceId, p = new { waves = new[] { 100 } } });
        var stranger = await Api.QueryAsync(reader, SetPolicy, new { s = service.NodeServiceId, p = new { waves = new[] { 100 } } });

        var stored = (await Seed.Services.GetAsync(customer, service.NodeServiceId, CancellationToken.None)).Service!.Policy;
        Assert.Equal([10, 100], stored.Waves);
        Assert.Equal((60, 5.5, 1, 3600), (stored.SoakSeconds, stored.MaxFailurePercent, stored.MinWaveInstances, stored.ReportTimeoutSeconds));
        Assert.Equal(["BAD_INPUT"], bad.ErrorCodes);
        Assert.Contains("rollout_policy.waves[1]", bad.ErrorMessages, StringComparison.Ordinal);
        Assert.Equal(["FORBIDDEN"], forbidden.ErrorCodes);
        Assert.Equal(["FORBIDDEN"], stranger.ErrorCodes);
    }

    [Fact]
    public async Task ImportInput_BadRolloutPolicy_IsBadInputNamingTheField()
    {
        var (customer, _) = await TenantAsync();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import");

        var answer = await Api.ImportAsync(key, customer, new JsonObject
        {
            ["name"] = "svc",
            ["image_sources"] = ApiClient.Sources([("amd64", "127.0.0.1:1/x:1")]),
            ["rollout_policy"] = new JsonObject { ["max_failure_percent"] = 120.0 },
        });

        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
        Assert.Contains("node_service_input.rollout_policy.max_failure_percent", answer.ErrorMessages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddInstance_DuringARollout_GetsTheNewVersionWhileALaterWaveKeepsThePrevious()
    {
        var (customer, key) = await TenantAsync();
        var service = await Seed.AddServiceAsync(customer, "svc", versions: 2);
        var device = await Seed.AddDeviceAsync(customer, "dev-" + Guid.NewGuid().ToString("N")[..12], "amd64");
        var waiting = await Seed.AddInstanceAsync(service, device, VersionTargetSelector.Latest);
        // Version 2 rolls out in two waves; the first has started, the existing instance is in the second.
        await Seed.Instances.SetRolloutWavesAsync(service.NodeServiceId, 2, [(waiting.InstanceId, 1)], CancellationToken.None);
        await Seed.Services.UpdateAsync(customer, service.NodeServiceId, s => s with { Rollout = new RolloutPointer(1, 2, 0, 2, []) }, CancellationToken.None);

        string added = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device.DeviceId)).Str("node_service_instance_id");

        var instances = await Api.GetInstancesOkAsync(key, service.NodeServiceId);
        Assert.Equal(1, instances[waiting.InstanceId].GetProperty("target_version").GetInt32());
        Assert.Equal(2, instances[added].GetProperty("target_version").GetInt32());
        var row = (await Seed.Instances.GetAsync(added, CancellationToken.None)).Instance!;
        Assert.Equal((2, 0), (row.RolloutVersion, row.RolloutWave));
    }
}
