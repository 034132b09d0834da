using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;
using Pipeline.Rollouts;

namespace Pipeline.Tests.Rollouts;

/// <summary>
/// What moves a rollout and what does not, on the durable test host: reports twice, out of
/// order, for an older version or from another device (TEST-MATRIX row 33); a closed update
/// window; a newer version; a manual pin.
/// </summary>
public sealed class RolloutReportTests : IAsyncLifetime
{
    private RolloutHarness _h = null!;

    public async Task InitializeAsync() => _h = await RolloutHarness.StartAsync();

    public async Task DisposeAsync()
    {
        if (_h is not null)
        {
            await _h.DisposeAsync();
        }
    }

    [Fact]
    public async Task Report_TwiceOutOfOrderOlderOrForeign_MovesTheRolloutOnlyOnTheFirstValidOne()
    {
        var policy = RolloutPolicy.Default with { SoakSeconds = 2, ReportTimeoutSeconds = 60 };
        var fleet = await _h.FleetAsync(2, policy, ["amd64"]);
        var (a, b) = (fleet.Devices[0], fleet.Devices[1]);
        await fleet.PublishAsync(2);
        await WaitAsync(async () => (await _h.Rollouts.GetAsync(fleet.NodeServiceId, 2, CancellationToken.None))?.CurrentWave == 0);

        // An older version's failure, and "downloading", say nothing about version 2.
        Assert.Null((await fleet.ReportAsync(a, 1, InstanceStatus.Failed, false, "old one broke")).RolloutInstanceId);
        Assert.Null((await fleet.ReportAsync(a, 2, InstanceStatus.Downloading, false)).RolloutInstanceId);
        Assert.Null((await fleet.InstanceAsync(a)).RolloutResult);

        var first = await fleet.ReportAsync(a, 2, InstanceStatus.Running, true);
        Assert.Equal(RolloutOrchestrator.InstanceIdFor(fleet.NodeServiceId, 2), first.RolloutInstanceId);
        var recorded = (await fleet.InstanceAsync(a)).RolloutResult;
        Assert.Equal(new RolloutResult(2, true, first.Status.ReportedAt), recorded);

        // The same report again, and a late "downloading": nothing moves.
        Assert.Null((await fleet.ReportAsync(a, 2, InstanceStatus.Running, true)).RolloutInstanceId);
        Assert.Null((await fleet.ReportAsync(a, 2, InstanceStatus.Downloading, false)).RolloutInstanceId);
        Assert.Equal(recorded, (await fleet.InstanceAsync(a)).RolloutResult);

        // Another device's key, or a report about a version that does not exist: refused, nothing stored.
        var foreign = await Assert.ThrowsAsync<PipelineException>(() => fleet.ReportAsync(a, 2, InstanceStatus.Failed, false, key: b.Key, deviceId: b.DeviceId));
        Assert.Equal(ErrorCodes.Forbidden, foreign.Code);
        var wrongKey = await Assert.ThrowsAsync<PipelineException>(() => fleet.ReportAsync(a, 2, InstanceStatus.Failed, false, key: b.Key));
        Assert.Equal(ErrorCodes.Forbidden, wrongKey.Code);
        var unknown = await Assert.ThrowsAsync<PipelineException>(() => fleet.ReportAsync(a, 9, InstanceStatus.Failed, false));
        Assert.Equal(ErrorCodes.BadInput, unknown.Code);
        Assert.Equal(recorded, (await fleet.InstanceAsync(a)).RolloutResult);

        var rollout = await _h.Rollouts.GetAsync(fleet.NodeServiceId, 2, CancellationToken.None);
        Assert.Equal(RolloutRecord.RollingOut, rollout!.State);
        await fleet.ReportAsync(b, 2, InstanceStatus.Running, true);
        var record = await fleet.EndedAsync(2);
        Assert.Equal(RolloutRecord.Completed, record.State);
        Assert.Equal(new RolloutWaveCounts(100, 2, 2, 0, 0), record.Waves.Single());
    }

    [Fact]
    public async Task Rollout_WindowNotOpen_StaysPendingPastTheTimeoutNeverFailed()
    {
        // A window that opened an hour ago and closed half an hour ago: it opens again tomorrow.
        var now = DateTimeOffset.UtcNow;
        var closed = UpdateWindow.Parse(now.AddHours(-1).ToString("HH:mm"), now.AddMinutes(-30).ToString("HH:mm"), "UTC");
        var policy = RolloutPolicy.Default with { SoakSeconds = 1, ReportTimeoutSeconds = 2 };
        var fleet = await _h.FleetAsync(2, policy, ["amd64"], window: i => i == 0 ? closed : null);
        using var stop = new CancellationTokenSource();
        var devices = fleet.SimulateAsync((d, v) => d.Index == 1 ? (InstanceStatus.Running, true, null) : null, stop.Token);
        var waiting = await fleet.InstanceAsync(fleet.Devices[0]);
        Assert.True(waiting.DeviceWindow == closed, $"window {waiting.DeviceWindow?.StartText}-{waiting.DeviceWindow?.EndText} {waiting.DeviceWindow?.TimeZoneId}; deadline {WaveHealth.ReportDeadline(waiting, DateTimeOffset.UtcNow, policy):O}");

        await fleet.PublishAsync(2);
        await Task.Delay(TimeSpan.FromSeconds(6));
        stop.Cancel();
        await devices;

        var record = await _h.Rollouts.GetAsync(fleet.NodeServiceId, 2, CancellationToken.None);
        Assert.True(record!.State == RolloutRecord.RollingOut, record.Reason);
        Assert.Equal(new RolloutWaveCounts(100, 2, 1, 0, 1), record.Waves.Single());
        // Its message waits for the window's start.
        var sent = await _h.Records.GetAsync(fleet.NodeServiceId, fleet.Devices[0].InstanceId, CancellationToken.None);
        Assert.Equal(2, sent!.Version);
        Assert.Equal(closed.EarliestUpdate(DateTimeOffset.UtcNow), sent.ScheduledFor);
    }

    [Fact]
    public async Task Rollout_RolledBack_WithdrawsTheBadVersionsMessageStillWaitingForAWindow()
    {
        var now = DateTimeOffset.UtcNow;
        var closed = UpdateWindow.Parse(now.AddHours(-1).ToString("HH:mm"), now.AddMinutes(-30).ToString("HH:mm"), "UTC");
        var policy = RolloutPolicy.Default with { SoakSeconds = 1, ReportTimeoutSeconds = 60, MaxFailurePercent = 50 };
        var fleet = await _h.FleetAsync(2, policy, ["amd64"], window: i => i == 0 ? closed : null);
        var (waiting, failing) = (fleet.Devices[0], fleet.Devices[1]);
        await fleet.PublishAsync(2);
        await fleet.WaitForFanOutAsync(2, "wave0");
        var scheduled = await _h.Records.GetAsync(fleet.NodeServiceId, waiting.InstanceId, CancellationToken.None);
        Assert.Equal(2, scheduled!.Version);
        Assert.NotNull(scheduled.Handle?.QueueMessageId);

        await fleet.ReportAsync(failing, 2, InstanceStatus.Failed, false, "exit 137");
        var record = await fleet.EndedAsync(2);
        await fleet.WaitForFanOutAsync(2, "back");

        Assert.Equal(RolloutRecord.RolledBack, record.State);
        // The waiting version 2 message is gone from the queue (its handle no longer deletes anything).
        var queue = new Azure.Storage.Queues.QueueClient(_h.Azurite.ConnectionString, Pipeline.Deployments.QueueDeploymentPublisher.QueueName);
        var gone = await Assert.ThrowsAsync<Azure.RequestFailedException>(() => queue.DeleteMessageAsync(scheduled.Handle!.QueueMessageId, scheduled.Handle.PopReceipt));
        Assert.Equal(404, gone.Status);
        var after = await _h.Records.GetAsync(fleet.NodeServiceId, waiting.InstanceId, CancellationToken.None);
        Assert.Equal(1, after!.Version);
        Assert.Equal(1, await fleet.TargetAsync(waiting));
    }

    [Fact]
    public async Task Rollout_NewerVersionDuringIt_SupersedesAndAPinTakesAnInstanceOut()
    {
        var policy = RolloutPolicy.Default with { Waves = [50, 100], SoakSeconds = 1, ReportTimeoutSeconds = 60 };
        var fleet = await _h.FleetAsync(4, policy, ["amd64"]);
        await fleet.PublishAsync(2);
        await WaitAsync(async () => (await _h.Rollouts.GetAsync(fleet.NodeServiceId, 2, CancellationToken.None))?.CurrentWave == 0);

        await fleet.PublishAsync(3);
        var superseded = await fleet.EndedAsync(2);
        Assert.Equal(RolloutRecord.Superseded, superseded.State);
        Assert.Equal("superseded by version 3", superseded.Reason);

        // Version 3's first wave: one of its instances is pinned to 1 by hand and leaves the rollout.
        await WaitAsync(async () => (await _h.Rollouts.GetAsync(fleet.NodeServiceId, 3, CancellationToken.None))?.CurrentWave == 0);
        var firstWave = new List<RolloutHarness.SimulatedDevice>();
        foreach (var d in fleet.Devices)
        {
            if ((await fleet.InstanceAsync(d)) is { RolloutVersion: 3, RolloutWave: 0 })
            {
                firstWave.Add(d);
            }
        }
        Assert.Equal(2, firstWave.Count);
        Assert.True(await _h.Seed.Instances.TrySetSelectorAsync(fleet.NodeServiceId, firstWave[0].InstanceId, VersionTargetSelector.Pinned(1), CancellationToken.None));
        Assert.Equal(1, await fleet.TargetAsync(firstWave[0]));
        using var stop = new CancellationTokenSource();
        var devices = fleet.SimulateAsync((d, v) => d == firstWave[0] ? null : (InstanceStatus.Running, true, null), stop.Token);

        var record = await fleet.EndedAsync(3);
        stop.Cancel();
        await devices;
        Assert.Equal(RolloutRecord.Completed, record.State);
        Assert.Equal(1, record.Waves[0].Instances);
        Assert.Equal(1, await fleet.TargetAsync(firstWave[0]));
        Assert.All(fleet.Devices.Where(d => d != firstWave[0]), d => Assert.Equal(3, fleet.TargetAsync(d).Result));
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true in 30 s");
            await Task.Delay(100);
        }
    }
}
