using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Pipeline.Deployments;
using Pipeline.Fleet.Devices;
using Pipeline.Storage;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.Deployments;

/// <summary>
/// The changes that start a fan-out, through LocalHost's GraphQL API, read off the local queue
/// <c>deployments</c> of an Azurite of this test's own: an added instance gets its version once,
/// a re-pin gets the pinned one (and a return to a version a new message id), and a moved window
/// takes along the message still waiting for it.
/// </summary>
public sealed class DeploymentTriggerTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private AzuriteFixture _azurite = null!;
    private LocalHostProcess _host = null!;
    private ApiClient _api = null!;
    private FleetSeed _seed = null!;
    private DeploymentQueue _queue = null!;
    private DeploymentRecordStore _records = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.StartAsync();
        _host = await LocalHostProcess.StartAsync(_azurite, insecureHosts: "");
        _api = new ApiClient(_host.BaseUri);
        _seed = new FleetSeed(_azurite.ConnectionString);
        _queue = new DeploymentQueue(_azurite.ConnectionString);
        _records = new DeploymentRecordStore(new PipelineStorage(Options.Create(new StorageOptions { ConnectionString = _azurite.ConnectionString })));
    }

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    private async Task<(string Customer, string Key)> TenantAsync()
    {
        string c = PipelineFixture.NewCustomer();
        return (c, await _api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "deploy", "read"));
    }

    private static string Id(JsonElement message) => message.GetProperty("message_id").GetString()!;

    /// <summary>Waits until the instance's record satisfies <paramref name="done"/> (its fan-out has finished).</summary>
    private async Task<DeploymentRecord> RecordAsync(string nodeServiceId, string instanceId, Func<DeploymentRecord, bool> done)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            if (await _records.GetAsync(nodeServiceId, instanceId, CancellationToken.None) is { } r && done(r))
            {
                return r;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the record of {instanceId} did not reach the expected state");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task AddThenPinBackAndReturn_OneMessageEach_WithItsFields()
    {
        var (customer, key) = await TenantAsync();
        var service = await _seed.AddServiceAsync(customer, "svc", versions: 2);
        await _api.RegisterDeviceOkAsync(key, customer, "gw-1", "amd64");

        string instance = (await _api.AddInstanceOkAsync(key, service.NodeServiceId, "gw-1")).Str("node_service_instance_id");
        var added = await _queue.TakeUntilAsync(m => Id(m) == $"{instance}:2", Wait);

        // Setting the selector it already has changes nothing; pinning back to 1 sends version 1.
        (await _api.SetRolloutAsync(key, [instance], null)).Ok();
        (await _api.SetRolloutAsync(key, [instance], "version:1")).Ok();
        var pinned = await _queue.TakeUntilAsync(m => Id(m) == $"{instance}:1", Wait);
        // Following the latest again is a return to version 2: a new id, so duplicate detection keeps it.
        (await _api.SetRolloutAsync(key, [instance], null)).Ok();
        var returned = await _queue.TakeUntilAsync(m => Id(m) == $"{instance}:2:2", Wait);
        await RecordAsync(service.NodeServiceId, instance, r => r.MessageId == $"{instance}:2:2");

        Assert.Equal([$"{instance}:2", $"{instance}:1", $"{instance}:2:2"], added.Concat(pinned).Concat(returned).Select(Id));
        Assert.Equal(0, await _queue.CountAsync());
        var first = added.Single();
        Assert.Equal("deploy", first.GetProperty("type").GetString());
        Assert.Equal(customer, first.GetProperty("customer_id").GetString());
        Assert.Equal("gw-1", first.GetProperty("device_id").GetString());
        Assert.Equal("gw-1", first.GetProperty("session_id").GetString());
        Assert.Equal(instance, first.GetProperty("node_service_instance_id").GetString());
        Assert.Equal(service.NodeServiceId, first.GetProperty("node_service_id").GetString());
        Assert.Equal(2, first.GetProperty("container_version").GetInt32());
        Assert.Equal("amd64", first.GetProperty("arch").GetString());
        Assert.Equal($"/api/devices/gw-1/instances/{instance}/plan", first.GetProperty("plan_url").GetString());
        Assert.False(first.TryGetProperty("not_before", out _));
        Assert.Equal(1, pinned.Single().GetProperty("container_version").GetInt32());
    }

    [Fact]
    public async Task WindowMoved_WaitingMessageMovesWithIt_ClearedWindowSendsItNow()
    {
        var (customer, key) = await TenantAsync();
        var service = await _seed.AddServiceAsync(customer, "svc", versions: 1);
        await _api.RegisterDeviceOkAsync(key, customer, "gw-w", "amd64");
        var now = DateTimeOffset.UtcNow;
        var (early, late) = (Window(now.AddHours(3)), Window(now.AddHours(5)));
        (await _api.SetUpdateWindowAsync(key, "gw-w", early.StartText, early.EndText, "UTC")).Ok();

        string instance = (await _api.AddInstanceOkAsync(key, service.NodeServiceId, "gw-w")).Str("node_service_instance_id");
        var waiting = await RecordAsync(service.NodeServiceId, instance, r => r.Version == 1);
        Assert.Equal((instance + ":1", early.EarliestUpdate(now)), (waiting.MessageId, waiting.ScheduledFor));
        Assert.Equal(1, await _queue.CountAsync());
        Assert.Empty(await _queue.TakeAllAsync()); // invisible until the window opens

        (await _api.SetUpdateWindowAsync(key, "gw-w", late.StartText, late.EndText, "UTC")).Ok();
        var moved = await RecordAsync(service.NodeServiceId, instance, r => r.MessageId == instance + ":1:2");
        Assert.Equal(late.EarliestUpdate(now), moved.ScheduledFor);
        Assert.Equal(1, await _queue.CountAsync()); // the first one was withdrawn, not left to fire

        (await _api.SetUpdateWindowAsync(key, "gw-w", null)).Ok();
        var now2 = await _queue.TakeUntilAsync(m => Id(m) == instance + ":1:3", Wait);
        Assert.Equal([instance + ":1:3"], now2.Select(Id));
        Assert.Equal(0, await _queue.CountAsync());
    }

    /// <summary>A one-hour UTC window opening at <paramref name="start"/>'s minute.</summary>
    private static UpdateWindow Window(DateTimeOffset start) =>
        UpdateWindow.Parse(start.ToString("HH:mm", CultureInfo.InvariantCulture), start.AddHours(1).ToString("HH:mm", CultureInfo.InvariantCulture), "UTC");
}
