using System.Net;
using System.Text.Json;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.Api.Devices;

/// <summary>
/// The device routes through LocalHost, on node services and versions written straight into the
/// catalog (the import end to end is in <see cref="DeviceEndToEndTests"/>): who may ask, what a
/// plan says, status reports and the target with its ETag.
/// </summary>
[Collection(FleetApiCollection.Name)]
public sealed class DeviceApiTests(PipelineFixture pipeline) : IDisposable
{
    private readonly DeviceClient _devices = new(pipeline.Host.BaseUri);

    private ApiClient Api => pipeline.Api;

    private FleetSeed Seed => new(pipeline.Azurite.ConnectionString);

    public void Dispose() => _devices.Dispose();

    private sealed record Tenant(string Customer, string Key);

    private sealed record OnDevice(string DeviceId, string DeviceKey, string InstanceId);

    private async Task<Tenant> NewTenantAsync()
    {
        string c = PipelineFixture.NewCustomer();
        return new Tenant(c, await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "deploy", "read"));
    }

    private async Task<OnDevice> AddDeviceWithInstanceAsync(Tenant tenant, string nodeServiceId, string arch = "amd64")
    {
        string device = "dev-" + Guid.NewGuid().ToString("N")[..12];
        string deviceKey = await Api.RegisterDeviceOkAsync(tenant.Key, tenant.Customer, device, arch);
        string instance = (await Api.AddInstanceOkAsync(tenant.Key, nodeServiceId, device)).Str("node_service_instance_id");
        return new OnDevice(device, deviceKey, instance);
    }

    private static List<string> Digests(JsonElement blobs) => blobs.EnumerateArray().Select(b => b.Str("digest")).ToList();

    [Fact]
    public async Task Plan_KeyOfAnotherCustomerOrDevice_Forbidden()
    {
        var a = await NewTenantAsync();
        var b = await NewTenantAsync();
        var serviceA = await Seed.AddServiceAsync(a.Customer, "svc");
        var serviceB = await Seed.AddServiceAsync(b.Customer, "svc");
        var a1 = await AddDeviceWithInstanceAsync(a, serviceA.NodeServiceId);
        var a2 = await AddDeviceWithInstanceAsync(a, serviceA.NodeServiceId);
        var b1 = await AddDeviceWithInstanceAsync(b, serviceB.NodeServiceId);

        // Each device's own plan works, so the refusals below are about the key alone.
        (await _devices.PlanAsync(a1.DeviceKey, a1.DeviceId, a1.InstanceId)).Expect(HttpStatusCode.OK);
        (await _devices.PlanAsync(b1.DeviceKey, b1.DeviceId, b1.InstanceId)).Expect(HttpStatusCode.OK);

        var refused = new[]
        {
            await _devices.PlanAsync(a1.DeviceKey, b1.DeviceId, b1.InstanceId),   // customer A's key on B's device
            await _devices.PlanAsync(a1.DeviceKey, a1.DeviceId, b1.InstanceId),   // A's device, B's instance
            await _devices.PlanAsync(a1.DeviceKey, a2.DeviceId, a2.InstanceId),   // device 1's key on device 2
            await _devices.PlanAsync(a1.DeviceKey, a1.DeviceId, a2.InstanceId),   // device 1, device 2's instance
            await _devices.PlanAsync(a1.DeviceKey, a1.DeviceId, serviceA.NodeServiceId + ".0123456789abcdef0123"), // no such instance
            await _devices.PlanAsync(a1.DeviceKey, "no-such-device", a1.InstanceId),
            await _devices.PlanAsync("dk_not-a-key", a1.DeviceId, a1.InstanceId),
            await _devices.PlanAsync(LocalHostProcess.AdminKey, a1.DeviceId, a1.InstanceId), // an API key is no device key
        };
        Assert.All(refused, r => Assert.Equal((HttpStatusCode.Forbidden, "FORBIDDEN"), (r.Status, r.ErrorCode)));
        // Never say which: a foreign device, a foreign instance and one that does not exist read the same.
        Assert.Single(refused.Select(r => r.ErrorMessage).Distinct());

        var anonymous = await _devices.PlanAsync(null, a1.DeviceId, a1.InstanceId);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
    }

    [Fact]
    public async Task Plan_RotatedKey_OldKeyForbiddenNewKeyWorks()
    {
        var t = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(t.Customer, "svc");
        var d = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);

        var rotated = (await Api.CreateDeviceKeyAsync(t.Key, t.Customer, d.DeviceId)).Ok().GetProperty("DM_create_device_key").GetString();

        Assert.Equal(HttpStatusCode.Forbidden, (await _devices.PlanAsync(d.DeviceKey, d.DeviceId, d.InstanceId)).Status);
        (await _devices.PlanAsync(rotated, d.DeviceId, d.InstanceId)).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Plan_DeviceHoldsConfig_ListsOnlyTheLayerWithSizesAndNetwork()
    {
        var t = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(t.Customer, "svc", FleetSeed.Lan("10.190.0.1/16", template: "10.190.0.1/24"), versions: 1, "arm64");
        var record = await Seed.Versions.GetAsync(service.NodeServiceId, 1, CancellationToken.None);
        var arch = record!.Architectures.Single();
        var d = await AddDeviceWithInstanceAsync(t, service.NodeServiceId, "arm64");

        var plan = (await _devices.PlanAsync(d.DeviceKey, d.DeviceId, d.InstanceId, [arch.Config.Digest.ToString()])).Expect(HttpStatusCode.OK);

        Assert.Equal(1, plan.GetProperty("container_version").GetInt32());
        Assert.Equal("arm64", plan.Str("arch"));
        Assert.Equal(arch.Manifest.Digest.ToString(), plan.Str("manifest_digest"));
        Assert.Equal(arch.Config.Digest.ToString(), plan.GetProperty("config").Str("digest"));
        Assert.Equal([arch.Layers[0].Digest.ToString()], Digests(plan.GetProperty("blobs")));
        Assert.Equal([arch.Layers[0].Digest.ToString()], Digests(plan.GetProperty("layers")));
        Assert.Equal(arch.Config.Size + arch.Layers[0].Size, plan.GetProperty("bytes_total").GetInt64());
        Assert.Equal(arch.Layers[0].Size, plan.GetProperty("bytes_to_download").GetInt64());
        Assert.Contains("/snapshots/sha256/" + record.EnvFile.Digest.Hex + "?", plan.Str("env_url"), StringComparison.Ordinal);
        var blobUrl = new Uri(plan.GetProperty("blobs")[0].Str("url"));
        Assert.Equal("/devstoreaccount1/snapshots/sha256/" + arch.Layers[0].Digest.Hex, blobUrl.AbsolutePath);
        Assert.Contains("sp=r", blobUrl.Query, StringComparison.Ordinal);
        var network = plan.GetProperty("network");
        var allocated = (await Api.GetInstancesOkAsync(t.Key, service.NodeServiceId))[d.InstanceId].Lan();
        Assert.Equal("dhcp", network.Str("lan_configure_network"));
        Assert.EndsWith(".1/16", network.GetProperty("lan").Str("interface_address"), StringComparison.Ordinal);
        foreach (string field in new[] { "interface_address", "subnet", "dhcp_range_start", "dhcp_range_end" })
        {
            Assert.Equal(allocated.Str(field), network.GetProperty("lan").Str(field));
        }
    }

    [Fact]
    public async Task Plan_PinnedGetsItsVersion_DisabledGetsNothing()
    {
        var t = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(t.Customer, "svc", versions: 2);
        var latest = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);
        var pinned = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);
        var disabled = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);
        (await Api.SetRolloutAsync(t.Key, [pinned.InstanceId], "version:1")).Ok();
        (await Api.SetRolloutAsync(t.Key, [disabled.InstanceId], "disabled")).Ok();
        var v1 = (await Seed.Versions.GetAsync(service.NodeServiceId, 1, CancellationToken.None))!.Architectures.Single();

        var latestPlan = (await _devices.PlanAsync(latest.DeviceKey, latest.DeviceId, latest.InstanceId)).Expect(HttpStatusCode.OK);
        var pinnedPlan = (await _devices.PlanAsync(pinned.DeviceKey, pinned.DeviceId, pinned.InstanceId)).Expect(HttpStatusCode.OK);
        var disabledPlan = (await _devices.PlanAsync(disabled.DeviceKey, disabled.DeviceId, disabled.InstanceId)).Expect(HttpStatusCode.OK);

        Assert.Equal(2, latestPlan.GetProperty("container_version").GetInt32());
        Assert.Equal(1, pinnedPlan.GetProperty("container_version").GetInt32());
        Assert.Equal(v1.Manifest.Digest.ToString(), pinnedPlan.Str("manifest_digest"));
        Assert.Equal(JsonValueKind.Null, disabledPlan.GetProperty("container_version").ValueKind);
        Assert.Empty(disabledPlan.GetProperty("blobs").EnumerateArray());
        Assert.Equal(0, disabledPlan.GetProperty("bytes_to_download").GetInt64());
    }

    [Theory]
    [InlineData("{\"have\": \"sha256:abc\"}", "have:")]
    [InlineData("{\"have\": [\"sha256:0000000000000000000000000000000000000000000000000000000000000000\", \"sha256:../x\"]}", "have[1]:")]
    [InlineData("{\"have\": [\"sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000\"]}", "have[0]:")]
    [InlineData("{\"have\": [\"md5:0123\"]}", "have[0]:")]
    [InlineData("{\"have\": [42]}", "have[0]:")]
    [InlineData("{\"have\": [", "not valid JSON")]
    [InlineData("[\"sha256:abc\"]", "JSON object")]
    public async Task Plan_MalformedBody_400NamingTheField(string body, string expected)
    {
        var t = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(t.Customer, "svc");
        var d = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);

        var answer = await _devices.PostAsync(d.DeviceKey, $"/api/devices/{d.DeviceId}/instances/{d.InstanceId}/plan", body);

        Assert.Equal((HttpStatusCode.BadRequest, "BAD_INPUT"), (answer.Status, answer.ErrorCode));
        Assert.Contains(expected, answer.ErrorMessage, StringComparison.Ordinal);
    }

    private const string StatusQuery =
        "query($s: ID!) { DM_get_node_service_instances(node_service_id: $s) { instances { node_service_instance_id status { container_version state healthy message reported_at } } } }";

    private async Task<JsonElement> StatusInGraphQLAsync(Tenant t, string nodeServiceId, string instanceId) =>
        (await Api.QueryAsync(t.Key, StatusQuery, new { s = nodeServiceId })).Ok()
            .GetProperty("DM_get_node_service_instances").GetProperty("instances").EnumerateArray()
            .Single(i => i.Str("node_service_instance_id") == instanceId).GetProperty("status");

    [Fact]
    public async Task Status_Reports_LastOneShownAsInstanceStatus()
    {
        var t = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(t.Customer, "svc", versions: 2);
        var d = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);
        Assert.Equal(JsonValueKind.Null, (await StatusInGraphQLAsync(t, service.NodeServiceId, d.InstanceId)).ValueKind);

        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        Assert.Equal(HttpStatusCode.NoContent, (await _devices.StatusAsync(d.DeviceKey, d.DeviceId, d.InstanceId, 1, "downloading", false)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await _devices.StatusAsync(d.DeviceKey, d.DeviceId, d.InstanceId, 2, "running", true, "started in 2.1 s")).Status);

        var status = await StatusInGraphQLAsync(t, service.NodeServiceId, d.InstanceId);
        Assert.Equal(2, status.GetProperty("container_version").GetInt32());
        Assert.Equal("running", status.Str("state"));
        Assert.True(status.GetProperty("healthy").GetBoolean());
        Assert.Equal("started in 2.1 s", status.Str("message"));
        var reportedAt = DateTimeOffset.Parse(status.Str("reported_at"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(reportedAt, before, DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public async Task Status_UnknownVersionBadStateOrForeignDevice_RefusedAndNothingStored()
    {
        var t = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(t.Customer, "svc", versions: 1);
        var d = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);
        var other = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);
        (await _devices.StatusAsync(d.DeviceKey, d.DeviceId, d.InstanceId, 1, "running", true, "ok")).Expect(HttpStatusCode.NoContent);

        var unknownVersion = await _devices.StatusAsync(d.DeviceKey, d.DeviceId, d.InstanceId, 7, "failed", false);
        var badState = await _devices.PostAsync(d.DeviceKey, $"/api/devices/{d.DeviceId}/instances/{d.InstanceId}/status", "{\"container_version\": 1, \"state\": \"exploded\"}");
        var noVersion = await _devices.PostAsync(d.DeviceKey, $"/api/devices/{d.DeviceId}/instances/{d.InstanceId}/status", "{\"state\": \"failed\"}");
        var foreignKey = await _devices.StatusAsync(other.DeviceKey, d.DeviceId, d.InstanceId, 1, "failed", false);
        var foreignInstance = await _devices.StatusAsync(other.DeviceKey, other.DeviceId, d.InstanceId, 1, "failed", false);

        Assert.Equal((HttpStatusCode.BadRequest, "BAD_INPUT"), (unknownVersion.Status, unknownVersion.ErrorCode));
        Assert.Contains("container_version", unknownVersion.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badState.Status);
        Assert.StartsWith("state:", badState.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, noVersion.Status);
        Assert.StartsWith("container_version:", noVersion.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, foreignKey.Status);
        Assert.Equal(HttpStatusCode.Forbidden, foreignInstance.Status);

        var status = await StatusInGraphQLAsync(t, service.NodeServiceId, d.InstanceId);
        Assert.Equal(("running", true, "ok"), (status.Str("state"), status.GetProperty("healthy").GetBoolean(), status.Str("message")));
    }

    [Fact]
    public async Task Target_ETag_NotModifiedUntilSomethingChanges()
    {
        var t = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(t.Customer, "svc", versions: 1);
        var other = await Seed.AddServiceAsync(t.Customer, "other", versions: 3);
        var d = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);
        string second = (await Api.AddInstanceOkAsync(t.Key, other.NodeServiceId, d.DeviceId)).Str("node_service_instance_id");

        var first = await _devices.TargetAsync(d.DeviceKey, d.DeviceId);
        var body = first.Expect(HttpStatusCode.OK);
        var instances = body.GetProperty("instances").EnumerateArray().ToDictionary(i => i.Str("node_service_instance_id"));
        Assert.Equal(new[] { d.InstanceId, second }.Order(StringComparer.Ordinal), instances.Keys);
        Assert.Equal(1, instances[d.InstanceId].GetProperty("container_version").GetInt32());
        Assert.Equal(3, instances[second].GetProperty("container_version").GetInt32());
        Assert.Equal(other.NodeServiceId, instances[second].Str("node_service_id"));
        Assert.Equal($"/api/devices/{d.DeviceId}/instances/{second}/plan", instances[second].Str("plan_url"));
        Assert.NotNull(first.ETag);

        var unchanged = await _devices.TargetAsync(d.DeviceKey, d.DeviceId, first.ETag);
        Assert.Equal(HttpStatusCode.NotModified, unchanged.Status);
        Assert.Null(unchanged.Body);

        (await Api.SetRolloutAsync(t.Key, [second], "disabled")).Ok();
        var changed = await _devices.TargetAsync(d.DeviceKey, d.DeviceId, first.ETag);
        var after = changed.Expect(HttpStatusCode.OK).GetProperty("instances").EnumerateArray().Single(i => i.Str("node_service_instance_id") == second);
        Assert.Equal(JsonValueKind.Null, after.GetProperty("container_version").ValueKind);
        Assert.NotEqual(first.ETag, changed.ETag);

        (await Api.RemoveInstanceAsync(t.Key, second)).Ok();
        var removed = (await _devices.TargetAsync(d.DeviceKey, d.DeviceId)).Expect(HttpStatusCode.OK);
        Assert.Equal([d.InstanceId], removed.GetProperty("instances").EnumerateArray().Select(i => i.Str("node_service_instance_id")));

        var other2 = await AddDeviceWithInstanceAsync(t, service.NodeServiceId);
        Assert.Equal(HttpStatusCode.Forbidden, (await _devices.TargetAsync(other2.DeviceKey, d.DeviceId)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _devices.TargetAsync(null, d.DeviceId)).Status);
    }
}
