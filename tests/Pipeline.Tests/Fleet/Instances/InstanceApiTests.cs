using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Fleet;
using Pipeline.Snapshots;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Fleet.Instances;

/// <summary>Adding, listing and removing node service instances through LocalHost's API.</summary>
[Collection(FleetApiCollection.Name)]
public sealed class InstanceApiTests(PipelineFixture pipeline)
{
    private ApiClient Api => pipeline.Api;

    private FleetSeed Seed => new(pipeline.Azurite.ConnectionString);

    private async Task<(string Customer, string Key)> NewTenantAsync(params string[] roles)
    {
        string c = PipelineFixture.NewCustomer();
        return (c, await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, roles.Length == 0 ? ["deploy", "read"] : roles));
    }

    private async Task<string> NewDeviceAsync(string key, string customer, string arch = "amd64")
    {
        string deviceId = "dev-" + Guid.NewGuid().ToString("N")[..12];
        await Api.RegisterDeviceOkAsync(key, customer, deviceId, arch);
        return deviceId;
    }

    [Theory]
    [InlineData("192.168.0.0/24", "192.168.0.1/24", "192.168.0.0/24")]
    [InlineData("192.168.0.100/24", "192.168.0.100/24", "192.168.0.0/24")]
    public async Task AddInstance_FixedSubnet_InterfaceAsDocumented(string access, string iface, string subnet)
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "fixed", FleetSeed.Lan(access, mode: NodeServiceNetwork.Allocated));
        string device = await NewDeviceAsync(key, customer);

        var first = await Api.AddInstanceOkAsync(key, service.NodeServiceId, device);
        var second = await Api.AddInstanceOkAsync(key, service.NodeServiceId, device);

        foreach (var instance in new[] { first, second })
        {
            Assert.Equal(iface, instance.Lan().Str("interface_address"));
            Assert.Equal(subnet, instance.Lan().Str("subnet"));
        }
    }

    [Fact]
    public async Task AddInstance_Template_InterfaceOnAccessLengthAndDhcpRangeInsideAUnique24()
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "tmpl", FleetSeed.Lan("10.190.0.1/16", template: "10.190.0.1/24"));
        string device = await NewDeviceAsync(key, customer);
        var access = IPNetwork2.Parse("10.190.0.0/16");

        var lans = new List<JsonElement>();
        for (int i = 0; i < 5; i++)
        {
            lans.Add((await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Lan());
        }

        Assert.Equal(5, lans.Select(l => l.Str("subnet")).Distinct().Count());
        foreach (var lan in lans)
        {
            var subnet = IPNetwork2.Parse(lan.Str("subnet"));
            Assert.Equal(24, subnet.Cidr);
            Assert.True(access.Contains(subnet));
            string iface = lan.Str("interface_address");
            Assert.EndsWith("/16", iface, StringComparison.Ordinal);
            Assert.Equal(IPAddress.Parse(subnet.FirstUsable.ToString()), IPAddress.Parse(iface[..^3]));
            Assert.Equal(Pipeline.Fleet.Networking.Ipv4Prefix.Add(subnet.FirstUsable, 1).ToString(), lan.Str("dhcp_range_start"));
            Assert.Equal(subnet.LastUsable.ToString(), lan.Str("dhcp_range_end"));
        }
    }

    [Fact]
    public async Task AddInstance_SharedDhcpRange_EveryInstanceGetsTheSameRange()
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "shared", FleetSeed.Lan("10.190.0.1/16", range: "10.190.0.1/24"));
        string device = await NewDeviceAsync(key, customer);

        var a = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Lan();
        var b = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Lan();

        Assert.Equal(a.GetRawText(), b.GetRawText());
        Assert.Equal("10.190.0.1/16", a.Str("interface_address"));
        Assert.Equal("10.190.0.0/24", a.Str("subnet"));
        Assert.Equal("10.190.0.2", a.Str("dhcp_range_start"));
        Assert.Equal("10.190.0.254", a.Str("dhcp_range_end"));
    }

    [Fact]
    public async Task AddInstance_NoNetworking_HasNoLanAndKeepsItsConfigMap()
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "plain", versions: 2, archs: ["amd64", "arm64"]);
        string device = await NewDeviceAsync(key, customer, "arm64");
        var config = new JsonObject { ["mode"] = "edge", ["port"] = 8080, ["ratio"] = 0.5, ["on"] = true, ["peers"] = new JsonArray("a", "b"), ["nested"] = new JsonObject { ["x"] = null } };

        var instance = await Api.AddInstanceOkAsync(key, service.NodeServiceId, device, config);

        Assert.Equal(JsonValueKind.Null, instance.GetProperty("lan").ValueKind);
        Assert.Equal("arm64", instance.Str("arch"));
        Assert.Equal(device, instance.Str("device_id"));
        Assert.Equal(service.NodeServiceId, instance.Str("node_service_id"));
        Assert.Equal(JsonValueKind.Null, instance.GetProperty("version_target_selector").ValueKind);
        Assert.Equal(2, instance.GetProperty("target_version").GetInt32());
        Assert.True(JsonNode.DeepEquals(config, JsonNode.Parse(instance.GetProperty("config_map").GetRawText())));

        var listed = (await Api.GetInstancesOkAsync(key, service.NodeServiceId))[instance.Str("node_service_instance_id")];
        Assert.True(JsonNode.DeepEquals(config, JsonNode.Parse(listed.GetProperty("config_map").GetRawText())));
    }

    [Fact]
    public async Task AddInstance_ConfigMapInline_IsStoredToo()
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "inline");
        string device = await NewDeviceAsync(key, customer);

        var answer = await Api.QueryAsync(key,
            $"mutation {{ DM_add_node_service_instance(node_service_id: \"{service.NodeServiceId}\", device_id: \"{device}\", config_map: {{ level: \"debug\", n: 3 }}) {{ config_map }} }}");

        var config = answer.Ok().GetProperty("DM_add_node_service_instance").GetProperty("config_map");
        Assert.Equal("debug", config.Str("level"));
        Assert.Equal(3, config.GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task AddInstance_ConfigMapNotAnObject_IsBadInput()
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "badmap");
        string device = await NewDeviceAsync(key, customer);

        var answer = await Api.AddInstanceAsync(key, service.NodeServiceId, device, JsonValue.Create("just text"));

        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
        Assert.Contains("config_map", answer.ErrorMessages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddInstance_UnregisteredDevice_IsNotFound()
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "svc");

        Assert.Equal(["NOT_FOUND"], (await Api.AddInstanceAsync(key, service.NodeServiceId, "never-registered-" + Guid.NewGuid().ToString("N")[..8])).ErrorCodes);
        Assert.Equal(["BAD_INPUT"], (await Api.AddInstanceAsync(key, service.NodeServiceId, "bad/id")).ErrorCodes);
        Assert.Equal(["NOT_FOUND"], (await Api.AddInstanceAsync(key, "ns_000000000000000000000000", await NewDeviceAsync(key, customer))).ErrorCodes);
    }

    [Fact]
    public async Task AddInstance_DeviceArchTheServiceLacks_IsArchMismatch()
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "amd-only", FleetSeed.Lan("10.190.0.1/16", template: "10.190.0.1/24"), archs: ["amd64"]);
        string device = await NewDeviceAsync(key, customer, "armhf");

        var answer = await Api.AddInstanceAsync(key, service.NodeServiceId, device);

        Assert.Equal(["ARCH_MISMATCH"], answer.ErrorCodes);
        Assert.Empty(await Seed.Leases.ListAsync(service.NodeServiceId, CancellationToken.None));
    }

    [Fact]
    public async Task AddInstance_AnotherCustomersServiceOrDevice_IsForbidden()
    {
        var (a, keyA) = await NewTenantAsync();
        var (b, keyB) = await NewTenantAsync();
        var serviceA = await Seed.AddServiceAsync(a, "svc");
        var serviceB = await Seed.AddServiceAsync(b, "svc");
        string deviceA = await NewDeviceAsync(keyA, a);
        string deviceB = await NewDeviceAsync(keyB, b);

        Assert.Equal(["FORBIDDEN"], (await Api.AddInstanceAsync(keyB, serviceA.NodeServiceId, deviceB)).ErrorCodes);
        Assert.Equal(["FORBIDDEN"], (await Api.AddInstanceAsync(keyA, serviceA.NodeServiceId, deviceB)).ErrorCodes);
        // Not even an admin puts one customer's service on another's device.
        Assert.Equal(["FORBIDDEN"], (await Api.AddInstanceAsync(LocalHostProcess.AdminKey, serviceB.NodeServiceId, deviceA)).ErrorCodes);
        Assert.Equal(["FORBIDDEN"], (await Api.GetInstancesAsync(keyB, serviceA.NodeServiceId)).ErrorCodes);
        Assert.Equal(0, (await Api.GetInstancesAsync(keyA, serviceA.NodeServiceId)).Ok().GetProperty("DM_get_node_service_instances").GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Instances_ReadKey_MayListButNotChange()
    {
        var (customer, deployKey) = await NewTenantAsync("deploy");
        string readKey = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read");
        var service = await Seed.AddServiceAsync(customer, "svc");
        string device = await NewDeviceAsync(deployKey, customer);
        string id = (await Api.AddInstanceOkAsync(deployKey, service.NodeServiceId, device)).Str("node_service_instance_id");

        Assert.Equal(["FORBIDDEN"], (await Api.AddInstanceAsync(readKey, service.NodeServiceId, device)).ErrorCodes);
        Assert.Equal(["FORBIDDEN"], (await Api.RemoveInstanceAsync(readKey, id)).ErrorCodes);
        Assert.Single(await Api.GetInstancesOkAsync(readKey, service.NodeServiceId));
        Assert.Single(await Api.GetInstancesOkAsync(deployKey, service.NodeServiceId));
    }

    [Fact]
    public async Task GetInstances_TakeAndSkip_PageInOrderOfAddition()
    {
        var (customer, key) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "paged");
        string device = await NewDeviceAsync(key, customer);
        var ids = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            ids.Add((await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id"));
        }

        var page = (await Api.GetInstancesAsync(key, service.NodeServiceId, take: 2, skip: 1)).Ok().GetProperty("DM_get_node_service_instances");

        Assert.Equal(5, page.GetProperty("total").GetInt32());
        Assert.Equal(ids.Skip(1).Take(2), page.GetProperty("instances").EnumerateArray().Select(i => i.Str("node_service_instance_id")));
        Assert.Equal(["BAD_INPUT"], (await Api.GetInstancesAsync(key, service.NodeServiceId, take: 501)).ErrorCodes);
        Assert.Equal(["BAD_INPUT"], (await Api.GetInstancesAsync(key, service.NodeServiceId, skip: -1)).ErrorCodes);
    }

    [Fact]
    public async Task RemoveInstance_Existing_GoneFromTheListAndItsRangeFreed()
    {
        var (customer, key) = await NewTenantAsync();
        var (_, otherKey) = await NewTenantAsync();
        var service = await Seed.AddServiceAsync(customer, "rm", FleetSeed.Lan("10.190.0.1/16", template: "10.190.0.1/24"));
        string device = await NewDeviceAsync(key, customer);
        string keep = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");
        string gone = (await Api.AddInstanceOkAsync(key, service.NodeServiceId, device)).Str("node_service_instance_id");

        Assert.Equal(["FORBIDDEN"], (await Api.RemoveInstanceAsync(otherKey, gone)).ErrorCodes);
        Assert.True((await Api.RemoveInstanceAsync(key, gone)).Ok().GetProperty("DM_remove_node_service_instance").GetBoolean());

        Assert.Equal([keep], (await Api.GetInstancesOkAsync(key, service.NodeServiceId)).Keys);
        Assert.Equal([keep], (await Seed.Leases.ListAsync(service.NodeServiceId, CancellationToken.None)).Select(l => l.InstanceId));
        Assert.Equal(["NOT_FOUND"], (await Api.RemoveInstanceAsync(key, gone)).ErrorCodes);
        Assert.Equal(["NOT_FOUND"], (await Api.RemoveInstanceAsync(key, "not-an-instance")).ErrorCodes);
    }
}
