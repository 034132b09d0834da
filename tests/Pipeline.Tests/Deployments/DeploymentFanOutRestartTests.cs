using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Pipeline.Deployments;
using Pipeline.Fleet;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;
using Pipeline.Storage;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.Deployments;

/// <summary>
/// A new version for a fleet of 1,000 instances (latest, pinned, disabled, behind update windows,
/// and instances of another node service), with LocalHost killed while the fan-out sends and
/// started again on the same task hub: every instance that should get a message gets exactly the
/// right one, the others none (TEST-MATRIX row 25 on the queue path).
/// </summary>
public sealed class DeploymentFanOutRestartTests : IAsyncLifetime
{
    private const int Devices = 200;
    private const int InstancesPerDevice = 5;

    private AzuriteFixture _azurite = null!;
    private RegistryFixture _registry = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.StartAsync();
        _registry = await RegistryFixture.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        await _azurite.DisposeAsync();
    }

    private sealed record Expected(NodeServiceInstance Instance, int Version, DateTimeOffset? Due);

    [Fact]
    public async Task NewVersion_KilledMidFanOut_EveryInstanceGetsItsMessageAndNoOtherOnce()
    {
        string customer = PipelineFixture.NewCustomer();
        string repository = RegistryFixture.NewRepository("fleet");
        string taskHub = "fan" + Guid.NewGuid().ToString("N")[..10];
        var seed = new FleetSeed(_azurite.ConnectionString);
        var queue = new DeploymentQueue(_azurite.ConnectionString);
        var records = new DeploymentRecordStore(new PipelineStorage(Options.Create(new StorageOptions { ConnectionString = _azurite.ConnectionString })));
        await TestImages.BuildAndPushAsync(_registry.Host, repository, "1", [ArchSpec.Amd64(LayerSpec.Text("v", "1")), ArchSpec.Arm64(LayerSpec.Text("v", "1"))]);
        await TestImages.BuildAndPushAsync(_registry.Host, repository, "2", [ArchSpec.Amd64(LayerSpec.Text("v", "2")), ArchSpec.Arm64(LayerSpec.Text("v", "2"))]);
        JsonObject Input(string name, string tag) => new()
        {
            ["name"] = name,
            ["image_sources"] = ApiClient.Sources([("amd64", $"{_registry.Host}/{repository}:{tag}"), ("arm64", $"{_registry.Host}/{repository}:{tag}")]),
        };

        var first = await LocalHostProcess.StartAsync(_azurite, _registry.Host, taskHub);
        var api = new ApiClient(first.BaseUri);
        string key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read", "deploy");
        var fleet = await ServiceAsync(seed, customer, (await api.ImportAndWaitAsync(key, customer, Input("fleet", "1"))).Str("node_service_id"));
        var other = await ServiceAsync(seed, customer, (await api.ImportAndWaitAsync(key, customer, Input("other", "1"))).Str("node_service_id"));
        // An import is completed before its version's rollout begins. A rollout that began while
        // the fleet below was being written would rightly send version 1 to the instances it found.
        var orchestrations = new Azure.Data.Tables.TableClient(_azurite.ConnectionString, taskHub + "Instances");
        await WaitForRolloutAsync(orchestrations, fleet.NodeServiceId, 1);
        await WaitForRolloutAsync(orchestrations, other.NodeServiceId, 1);

        // The fleet, written straight into the catalog (adding through the API would send version 1 first).
        var now = DateTimeOffset.UtcNow;
        var night = UpdateWindow.Parse(now.AddHours(3).ToString("HH:mm", CultureInfo.InvariantCulture), now.AddHours(4).ToString("HH:mm", CultureInfo.InvariantCulture), "UTC");
        var devices = new List<Device>();
        foreach (var chunk in Enumerable.Range(0, Devices).Chunk(20))
        {
            devices.AddRange(await Task.WhenAll(chunk.Select(d =>
                seed.AddDeviceAsync(customer, $"{customer}-gw-{d:D3}", d % 2 == 0 ? "amd64" : "arm64", d % 10 == 0 ? night : null))));
        }
        var expected = new List<Expected>();
        var silent = new List<NodeServiceInstance>();
        foreach (var chunk in Enumerable.Range(0, Devices * InstancesPerDevice).Chunk(25))
        {
            var added = await Task.WhenAll(chunk.Select(async i =>
            {
                var device = devices[i / InstancesPerDevice];
                var selector = (i % 10) switch { 1 => VersionTargetSelector.Pinned(1), 2 => VersionTargetSelector.Disabled, _ => VersionTargetSelector.Latest };
                return (Instance: await seed.AddInstanceAsync(fleet, device, selector), Window: device.UpdateWindow);
            }));
            foreach (var (instance, window) in added)
            {
                if (instance.Selector.Kind == VersionTargetKind.Disabled)
                {
                    silent.Add(instance);
                }
                else
                {
                    expected.Add(new Expected(instance, instance.Selector.PinnedVersion ?? 2, window?.EarliestUpdate(now)));
                }
            }
        }
        foreach (var device in devices.Take(50))
        {
            silent.Add(await seed.AddInstanceAsync(other, device, VersionTargetSelector.Latest));
        }

        // Version 2 lands; its fan-out starts; LocalHost is killed as soon as messages flow.
        string importId;
        try
        {
            importId = (await api.ImportAsync(key, customer, Input("fleet", "2"))).Ok().GetProperty("DM_import_node_service").Str("import_id");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            int seen;
            while ((seen = await queue.CountAsync()) == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "no deployment message within two minutes; LocalHost's log:\n" + first.ReadLog());
                await Task.Delay(10);
            }
            Assert.True(seen < expected.Count, $"the fan-out had sent {seen} of {expected.Count} before it could be interrupted");
        }
        finally
        {
            await first.KillAsync();
            api.Dispose();
        }

        await using var second = await LocalHostProcess.StartAsync(_azurite, _registry.Host, taskHub);
        var done = await WaitForRecordsAsync(records, fleet.NodeServiceId, expected);

        // What is waiting for a window is recorded with the window's start and stays invisible;
        // everything else is on the queue now.
        foreach (var e in expected.Where(e => e.Due is not null))
        {
            var record = done[e.Instance.InstanceId];
            Assert.Equal((e.Due, $"{e.Instance.InstanceId}:{e.Version}"), (record.ScheduledFor, record.MessageId));
            Assert.NotNull(record.Handle?.QueueMessageId);
        }
        int total = await queue.CountAsync();
        var messages = await queue.TakeAllAsync();
        var byId = messages.GroupBy(m => m.GetProperty("message_id").GetString()!).ToDictionary(g => g.Key, g => g.ToList());
        var visible = expected.Where(e => e.Due is null).ToDictionary(e => $"{e.Instance.InstanceId}:{e.Version}");
        Assert.Equal(visible.Keys.Order(StringComparer.Ordinal), byId.Keys.Order(StringComparer.Ordinal));
        foreach (var (id, copies) in byId)
        {
            var e = visible[id];
            var m = copies[0];
            Assert.Equal("deploy", m.GetProperty("type").GetString());
            Assert.Equal(customer, m.GetProperty("customer_id").GetString());
            Assert.Equal(e.Instance.DeviceId, m.GetProperty("device_id").GetString());
            Assert.Equal(e.Instance.DeviceId, m.GetProperty("session_id").GetString());
            Assert.Equal(e.Instance.InstanceId, m.GetProperty("node_service_instance_id").GetString());
            Assert.Equal(fleet.NodeServiceId, m.GetProperty("node_service_id").GetString());
            Assert.Equal(e.Version, m.GetProperty("container_version").GetInt32());
            Assert.Equal(e.Instance.Arch, m.GetProperty("arch").GetString());
            Assert.Equal($"/api/devices/{e.Instance.DeviceId}/instances/{e.Instance.InstanceId}/plan", m.GetProperty("plan_url").GetString());
            // A copy sent again after the crash is the same message under the same id: a consumer drops it.
            Assert.All(copies, c => Assert.Equal(m.GetRawText(), c.GetRawText()));
        }
        int resent = messages.Count - byId.Count;
        Assert.InRange(resent, 0, FanOutPageActivity.ChunkSize);
        int waiting = total - messages.Count;
        Assert.InRange(waiting, expected.Count(e => e.Due is not null), expected.Count(e => e.Due is not null) + FanOutPageActivity.ChunkSize);
        foreach (var s in silent)
        {
            Assert.Null(await records.GetAsync(s.NodeServiceId, s.InstanceId, CancellationToken.None));
        }
        // Both orchestrations ended: the import does not wait on the fleet, and the fan-out finished.
        await WaitForCompletedAsync(orchestrations, importId, Pipeline.Rollouts.RolloutOrchestrator.FanOutIdFor(fleet.NodeServiceId, 2, "wave0"));
    }

    /// <summary>Waits until each orchestration named has completed (a missing one is not started yet).</summary>
    private static async Task WaitForCompletedAsync(Azure.Data.Tables.TableClient orchestrations, params string[] ids)
    {
        foreach (string id in ids)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            string? status;
            while ((status = await StatusAsync(orchestrations, id)) != "Completed")
            {
                Assert.True(DateTime.UtcNow < deadline, $"orchestration {id} is {status}");
                await Task.Delay(250);
            }
        }
    }

    /// <summary>An orchestration's runtime status; null while it has no row (not scheduled yet).</summary>
    private static async Task<string?> StatusAsync(Azure.Data.Tables.TableClient orchestrations, string id)
    {
        var row = await orchestrations.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>(id, "");
        return row.HasValue ? row.Value!.GetString("RuntimeStatus") : null;
    }

    /// <summary>Waits until the rollout of <paramref name="version"/> and every fan-out it started have completed.</summary>
    private static async Task WaitForRolloutAsync(Azure.Data.Tables.TableClient orchestrations, string nodeServiceId, int version)
    {
        string rollout = Pipeline.Rollouts.RolloutOrchestrator.InstanceIdFor(nodeServiceId, version);
        await WaitForCompletedAsync(orchestrations, rollout);
        // A rollout starts its fan-outs (ids "<rollout>-<step>") before it completes, so their rows exist by now.
        var fanOuts = new List<string>();
        string filter = Azure.Data.Tables.TableClient.CreateQueryFilter($"PartitionKey gt {rollout + "-"} and PartitionKey lt {rollout + "."}");
        await foreach (var row in orchestrations.QueryAsync<Azure.Data.Tables.TableEntity>(filter, select: ["PartitionKey"]))
        {
            fanOuts.Add(row.PartitionKey);
        }
        await WaitForCompletedAsync(orchestrations, [.. fanOuts]);
    }

    private static async Task<NodeService> ServiceAsync(FleetSeed seed, string customer, string nodeServiceId) =>
        (await seed.Services.GetAsync(customer, nodeServiceId, CancellationToken.None)).Service!;

    /// <summary>Waits until every expected instance's record names its expected version.</summary>
    private static async Task<Dictionary<string, DeploymentRecord>> WaitForRecordsAsync(DeploymentRecordStore records, string nodeServiceId, List<Expected> expected)
    {
        var ids = expected.Select(e => e.Instance.InstanceId).Order(StringComparer.Ordinal).ToList();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var found = await records.GetRangeAsync(nodeServiceId, ids[0], ids[^1], CancellationToken.None);
            if (expected.All(e => found.TryGetValue(e.Instance.InstanceId, out var r) && r.Version == e.Version))
            {
                return found;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{expected.Count(e => found.TryGetValue(e.Instance.InstanceId, out var r) && r.Version == e.Version)} of {expected.Count} instances recorded after three minutes");
            await Task.Delay(250);
        }
    }
}
