using System.Net;
using System.Diagnostics;
using System.Text.Json;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Xunit.Abstractions;

namespace Pipeline.Tests.Fleet.Networking;

/// <summary>
/// TEST-MATRIX row 24: concurrent instance additions through the API never share a /24, and a
/// full subnet is <c>SUBNET_EXHAUSTED</c>. A /16 holds 256 /24s, so the 500-instance test uses a
/// /14 (1024 /24s) and the exhaustion test a /16.
/// </summary>
[Collection(FleetApiCollection.Name)]
public sealed class AllocationConcurrencyTests(PipelineFixture pipeline, ITestOutputHelper output)
{
    private ApiClient Api => pipeline.Api;

    private FleetSeed Seed => new(pipeline.Azurite.ConnectionString);

    private async Task<(string Customer, string Key, List<string> Devices)> NewTenantAsync(int devices)
    {
        string c = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "deploy", "read");
        var ids = new List<string>();
        for (int i = 0; i < devices; i++)
        {
            string id = $"dev-{Guid.NewGuid():N}"[..16];
            await Api.RegisterDeviceOkAsync(key, c, id);
            ids.Add(id);
        }
        return (c, key, ids);
    }

    private static void AssertOwn24Inside(JsonElement lan, IPNetwork2 access)
    {
        var subnet = IPNetwork2.Parse(lan.Str("subnet"));
        Assert.Equal(24, subnet.Cidr);
        Assert.True(access.Contains(subnet), $"{subnet} is outside {access}");
        string iface = lan.Str("interface_address");
        Assert.EndsWith("/" + access.Cidr, iface, StringComparison.Ordinal);
        Assert.True(subnet.Contains(System.Net.IPAddress.Parse(iface[..iface.IndexOf('/')])));
        Assert.True(subnet.Contains(System.Net.IPAddress.Parse(lan.Str("dhcp_range_start"))));
        Assert.True(subnet.Contains(System.Net.IPAddress.Parse(lan.Str("dhcp_range_end"))));
    }

    [Fact]
    public async Task AddInstance_500ConcurrentFromTwoProcesses_500Distinct24s()
    {
        var (customer, key, devices) = await NewTenantAsync(20);
        var service = await Seed.AddServiceAsync(customer, "wide", FleetSeed.Lan("10.188.0.1/14", template: "10.188.0.1/24"));
        var access = IPNetwork2.Parse("10.188.0.0/14");
        await using var second = await LocalHostProcess.StartAsync(pipeline.Azurite, pipeline.Registry.Host);
        var clients = new[] { pipeline.Host.BaseUri, pipeline.Host.BaseUri, second.BaseUri, second.BaseUri }.Select(u => new PatientApiClient(u)).ToArray();
        try
        {
            // A first call per process, so the clock measures allocation rather than start-up.
            using (var warmUp = new ApiClient(second.BaseUri))
            {
                (await warmUp.GetInstancesAsync(key, service.NodeServiceId)).Ok();
                (await Api.GetInstancesAsync(key, service.NodeServiceId)).Ok();
            }
            var clock = Stopwatch.StartNew();
            var answers = await Task.WhenAll(Enumerable.Range(0, 500).Select(i =>
                Task.Run(() => clients[i % clients.Length].AddInstanceAsync(key, service.NodeServiceId, devices[i % devices.Count]))));
            clock.Stop();
            output.WriteLine($"500 concurrent additions through 2 processes, 4 clients: {clock.Elapsed.TotalSeconds:F1} s");

            if (answers.Any(a => a.ErrorCodes.Count > 0))
            {
                output.WriteLine(string.Join("\n", answers.Where(a => a.ErrorCodes.Count > 0).Select(a => a.ErrorMessages).Distinct()));
                output.WriteLine("HOST1\n" + pipeline.Host.ReadLog());
                output.WriteLine("HOST2\n" + second.ReadLog());
            }
            var lans = answers.Select(a => a.Ok().GetProperty("DM_add_node_service_instance").Lan()).ToList();
            Assert.Equal(500, lans.Select(l => l.Str("subnet")).Distinct().Count());
            foreach (var lan in lans)
            {
                AssertOwn24Inside(lan, access);
            }
            var listed = await Api.GetInstancesOkAsync(key, service.NodeServiceId);
            Assert.Equal(500, listed.Count);
            Assert.Equal(500, listed.Values.Select(i => i.Lan().Str("subnet")).Distinct().Count());
            Assert.Equal(500, (await Seed.Leases.ListAsync(service.NodeServiceId, CancellationToken.None)).Count);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task AddInstance_A16Full_257thIsSubnetExhaustedAndAFreedRangeIsReused()
    {
        var (customer, key, devices) = await NewTenantAsync(4);
        var service = await Seed.AddServiceAsync(customer, "narrow", FleetSeed.Lan("10.190.0.1/16", template: "10.190.0.1/24"));
        var access = IPNetwork2.Parse("10.190.0.0/16");
        using var one = new PatientApiClient(pipeline.Host.BaseUri);
        using var other = new PatientApiClient(pipeline.Host.BaseUri);

        var clock = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 256).Select(i =>
            Task.Run(() => (i % 2 == 0 ? one : other).AddInstanceAsync(key, service.NodeServiceId, devices[i % devices.Count]))));
        output.WriteLine($"256 concurrent additions filling a /16: {clock.Elapsed.TotalSeconds:F1} s");
        var added = answers.Select(a => a.Ok().GetProperty("DM_add_node_service_instance")).ToList();
        Assert.Equal(256, added.Select(i => i.Lan().Str("subnet")).Distinct().Count());
        Assert.All(added, i => AssertOwn24Inside(i.Lan(), access));

        var refused = await Api.AddInstanceAsync(key, service.NodeServiceId, devices[0]);
        Assert.Equal(["SUBNET_EXHAUSTED"], refused.ErrorCodes);
        Assert.Equal(256, (await Api.GetInstancesOkAsync(key, service.NodeServiceId)).Count);

        var freed = added[123];
        (await Api.RemoveInstanceAsync(key, freed.Str("node_service_instance_id"))).Ok();
        var reused = await Api.AddInstanceOkAsync(key, service.NodeServiceId, devices[1]);
        Assert.Equal(freed.Lan().Str("subnet"), reused.Lan().Str("subnet"));
        Assert.Equal(freed.Lan().Str("interface_address"), reused.Lan().Str("interface_address"));
        Assert.Equal(["SUBNET_EXHAUSTED"], (await Api.AddInstanceAsync(key, service.NodeServiceId, devices[2])).ErrorCodes);
    }
}
