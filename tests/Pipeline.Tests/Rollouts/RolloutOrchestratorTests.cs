using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;
using Pipeline.Rollouts;

namespace Pipeline.Tests.Rollouts;

/// <summary>
/// Whole rollouts on the durable test host with simulated devices: healthy waves to the end, a
/// failing first wave rolled back before later waves see the version, silent devices timed
/// out, and the failure threshold's boundary.
/// </summary>
public sealed class RolloutOrchestratorTests : IAsyncLifetime
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

    private static (string, bool, string?)? Healthy(RolloutHarness.SimulatedDevice d, int v) => (InstanceStatus.Running, true, null);

    [Fact]
    public async Task Rollout_HealthyDevices_WalksEveryWaveToCompleted()
    {
        var policy = RolloutPolicy.Default with { Waves = [34, 67, 100], SoakSeconds = 1, ReportTimeoutSeconds = 60 };
        var fleet = await _h.FleetAsync(9, policy);
        using var stop = new CancellationTokenSource();
        var devices = fleet.SimulateAsync(Healthy, stop.Token);

        await fleet.PublishAsync(2);
        var record = await fleet.EndedAsync(2);
        stop.Cancel();
        await devices;

        Assert.Equal(RolloutRecord.Completed, record.State);
        Assert.Null(record.Reason);
        Assert.Equal([4, 3, 2], record.Waves.Select(w => w.Instances));
        Assert.Equal([4, 3, 2], record.Waves.Select(w => w.Healthy));
        Assert.All(record.Waves, w => Assert.Equal(0, w.Failed + w.Pending));
        Assert.Equal([34, 67, 100], record.Waves.Select(w => w.Percent));
        var service = await fleet.ServiceAsync();
        Assert.Equal(2, service.Rollout!.BaseVersion);
        Assert.Null(service.Rollout.RollingVersion);

        // Each wave saw the version only after the previous one was healthy for the soak time.
        var waveOf = new Dictionary<int, int>();
        foreach (var d in fleet.Devices)
        {
            waveOf[d.Index] = (await fleet.InstanceAsync(d)).RolloutWave;
            Assert.Equal(2, await fleet.TargetAsync(d));
        }
        for (int wave = 1; wave < 3; wave++)
        {
            var previousHealthy = fleet.Devices.Where(d => waveOf[d.Index] == wave - 1).Max(d => fleet.Reported[(d.Index, 2)]);
            var firstSeen = fleet.Devices.Where(d => waveOf[d.Index] == wave).Min(d => fleet.Seen[(d.Index, 2)]);
            Assert.True(firstSeen >= previousHealthy.AddSeconds(policy.SoakSeconds), $"wave {wave} saw version 2 at {firstSeen:O}, {previousHealthy:O} was the last healthy report of wave {wave - 1}");
        }
        // Every wave mixes the three architectures.
        foreach (var wave in fleet.Devices.GroupBy(d => waveOf[d.Index]))
        {
            Assert.Equal(Math.Min(3, wave.Count()), wave.Select(d => d.Index % 3).Distinct().Count());
        }
    }

    [Fact]
    public async Task Rollout_FirstWaveFails_RolledBackAndLaterWavesNeverReceiveIt()
    {
        var policy = RolloutPolicy.Default with { Waves = [20, 100], SoakSeconds = 1, ReportTimeoutSeconds = 60 };
        var fleet = await _h.FleetAsync(10, policy);
        using var stop = new CancellationTokenSource();
        var devices = fleet.SimulateAsync((d, v) => v == 2 ? (InstanceStatus.Running, false, "health check exited 1") : (InstanceStatus.Running, true, null), stop.Token);

        await fleet.PublishAsync(2);
        var record = await fleet.EndedAsync(2);
        await fleet.WaitForFanOutAsync(2, "back");

        Assert.Equal(RolloutRecord.RolledBack, record.State);
        Assert.Contains("health check exited 1", record.Reason);
        // The first failure of the two already reaches 20 %; the second may or may not have come in.
        Assert.Matches("[12] of 2 instances", record.Reason);
        Assert.Equal(0, record.CurrentWave);
        var service = await fleet.ServiceAsync();
        Assert.Equal(1, service.Rollout!.BaseVersion);
        Assert.Equal([2], service.Rollout.RolledBack);
        Assert.Null(service.Rollout.RollingVersion);

        // Everyone is back on version 1; the two that moved get a message for it again, the others never heard of 2.
        await Task.Delay(500);
        stop.Cancel();
        await devices;
        foreach (var d in fleet.Devices)
        {
            var instance = await fleet.InstanceAsync(d);
            var sent = await _h.Records.GetAsync(fleet.NodeServiceId, d.InstanceId, CancellationToken.None);
            Assert.Equal(1, await fleet.TargetAsync(d));
            Assert.Equal(1, sent!.Version);
            if (instance.RolloutWave == 0)
            {
                Assert.Equal(1, sent.SendsOf(2));
                Assert.Equal(2, sent.SendsOf(1));
            }
            else
            {
                Assert.False(fleet.Seen.ContainsKey((d.Index, 2)), $"device {d.Index} of a later wave saw version 2");
                Assert.Equal(0, sent.SendsOf(2));
                Assert.Equal(1, sent.SendsOf(1));
            }
        }
    }

    [Fact]
    public async Task Rollout_DevicesNeverReport_TimeOutAndRollBack()
    {
        var policy = RolloutPolicy.Default with { SoakSeconds = 1, ReportTimeoutSeconds = 3 };
        var fleet = await _h.FleetAsync(4, policy);
        var started = DateTimeOffset.UtcNow;

        await fleet.PublishAsync(2);
        var record = await fleet.EndedAsync(2);

        Assert.Equal(RolloutRecord.RolledBack, record.State);
        Assert.Contains("4 silent", record.Reason);
        Assert.True(record.UpdatedAt >= started.AddSeconds(3), "rolled back before the report timeout");
        Assert.Equal(new RolloutWaveCounts(100, 4, 0, 4, 0), record.Waves.Single());
        Assert.Equal(1, await fleet.TargetAsync(fleet.Devices[0]));
    }

    [Theory]
    [InlineData(2, RolloutRecord.RolledBack)]  // 2 of 10 = exactly max_failure_percent 20
    [InlineData(1, RolloutRecord.Completed)]   // one below
    public async Task Rollout_FailuresAtTheThreshold_RollBackAndOneBelowCompletes(int failing, string expected)
    {
        var policy = RolloutPolicy.Default with { SoakSeconds = 1, ReportTimeoutSeconds = 60, MaxFailurePercent = 20 };
        var fleet = await _h.FleetAsync(10, policy, ["amd64"]);
        using var stop = new CancellationTokenSource();
        var devices = fleet.SimulateAsync((d, v) => v == 2 && d.Index < failing ? (InstanceStatus.Failed, false, "crashed") : (InstanceStatus.Running, true, null), stop.Token);

        await fleet.PublishAsync(2);
        var record = await fleet.EndedAsync(2);
        stop.Cancel();
        await devices;

        Assert.Equal(expected, record.State);
        Assert.Equal(failing, record.Waves.Single().Failed);
        // A rollback stops at the failure that reaches the threshold, whoever has reported by then.
        Assert.InRange(record.Waves.Single().Healthy, expected == RolloutRecord.Completed ? 10 - failing : 0, 10 - failing);
        Assert.Equal(expected == RolloutRecord.Completed ? 2 : 1, (await fleet.ServiceAsync()).Rollout!.BaseVersion);
    }
}
