using System.Text.Json;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Fleet.Rollout;

/// <summary><c>DM_update_node_service_instance_rollout_config</c> and <c>target_version</c>, through LocalHost's API.</summary>
[Collection(FleetApiCollection.Name)]
public sealed class RolloutApiTests(PipelineFixture pipeline)
{
    private ApiClient Api => pipeline.Api;

    private FleetSeed Seed => new(pipeline.Azurite.ConnectionString);

    private async Task<(string Customer, string Key, string Device)> NewTenantAsync()
    {
        string c = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "deploy");
        string device = "dev-" + Guid.NewGuid().ToString("N")[..12];
        await Api.RegisterDeviceOkAsync(key, c, device);
        return (c, key, device);
    }

    private static (string? Selector, int? Target) Rollout(JsonElement instance) => (
        instance.GetProperty("version_target_selector").ValueKind == JsonValueKind.Null ? null : instance.Str("version_target_selector"),
        instance.GetProperty("target_version").ValueKind == JsonValueKind.Null ? null : instance.GetProperty("target_version").GetInt32());

    [Fact]
    public async Task Selectors_NewVersionLands_LatestFollowsPinnedStaysDisabledNone()
    {
        var (customer, key, device) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "svc", versions: 1);
        string latest = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");
        string pinned = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");
        string disabled = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");

        (await Api.SetRolloutAsync(key, [pinned], "version:1")).Ok();
        (await Api.SetRolloutAsync(key, [disabled], "disabled")).Ok();
        var before = await Api.GetInstancesOkAsync(key, service.NodeServiceId);
        Assert.Equal((null, 1), Rollout(before[latest]));
        Assert.Equal(("version:1", 1), Rollout(before[pinned]));
        Assert.Equal(("disabled", null), Rollout(before[disabled]));

        await Seed.PublishVersionAsync(service, 2);

        var after = await Api.GetInstancesOkAsync(key, service.NodeServiceId);
        Assert.Equal((null, 2), Rollout(after[latest]));
        Assert.Equal(("version:1", 1), Rollout(after[pinned]));
        Assert.Equal(("disabled", null), Rollout(after[disabled]));

        // Back to latest, both ways a client may say it: no selector, or a null value.
        (await Api.SetRolloutAsync(key, [pinned], null)).Ok();
        (await Api.SetRolloutAsync(key, [disabled], null, omitSelector: true)).Ok();
        var reset = await Api.GetInstancesOkAsync(key, service.NodeServiceId);
        Assert.Equal((null, 2), Rollout(reset[pinned]));
        Assert.Equal((null, 2), Rollout(reset[disabled]));
    }

    [Fact]
    public async Task SetRollout_PinToMissingVersion_IsNotFoundAndChangesNothing()
    {
        var (customer, key, device) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "svc", versions: 2);
        string a = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");
        string b = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");

        var answer = await Api.SetRolloutAsync(key, [a, b], "version:3");

        Assert.Equal(["NOT_FOUND"], answer.ErrorCodes);
        Assert.Contains("version 3", answer.ErrorMessages, StringComparison.Ordinal);
        Assert.All((await Api.GetInstancesOkAsync(key, service.NodeServiceId)).Values, i => Assert.Equal((null, 2), Rollout(i)));
        (await Api.SetRolloutAsync(key, [a, b], "version:1")).Ok();
        Assert.All((await Api.GetInstancesOkAsync(key, service.NodeServiceId)).Values, i => Assert.Equal(("version:1", 1), Rollout(i)));
    }

    [Theory]
    [InlineData("version:latest")]
    [InlineData("version:0")]
    [InlineData("pinned")]
    public async Task SetRollout_UnknownSelector_IsBadInput(string value)
    {
        var (customer, key, device) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "svc");
        string id = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");

        var answer = await Api.SetRolloutAsync(key, [id], value);

        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
        Assert.Contains("version_target_selector", answer.ErrorMessages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetRollout_AnotherCustomersOrUnknownInstance_RefusedAndNothingChanges()
    {
        var (customer, key, device) = await NewTenantAsync();
        var (_, otherKey, _) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "svc");
        string mine = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");

        Assert.Equal(["FORBIDDEN"], (await Api.SetRolloutAsync(otherKey, [mine], "disabled")).ErrorCodes);
        Assert.Equal(["NOT_FOUND"], (await Api.SetRolloutAsync(key, [mine, service.NodeServiceId + ".0123456789abcdef0123"], "disabled")).ErrorCodes);
        Assert.Equal(["BAD_INPUT"], (await Api.SetRolloutAsync(key, [], "disabled")).ErrorCodes);
        Assert.Equal((null, 1), Rollout((await Api.GetInstancesOkAsync(key, service.NodeServiceId))[mine]));
    }
}
