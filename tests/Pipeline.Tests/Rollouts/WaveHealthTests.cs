using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;
using Pipeline.Rollouts;

namespace Pipeline.Tests.Rollouts;

public sealed class WaveHealthTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly RolloutPolicy Policy = RolloutPolicy.Default with { SoakSeconds = 60, ReportTimeoutSeconds = 600, MaxFailurePercent = 20 };

    private static NodeServiceInstance Member(int i, bool? healthy = null, UpdateWindow? window = null, int version = 2) =>
        new($"ns.i{i:D3}", "ns", "c", $"d{i}", "amd64", VersionTargetSelector.Latest, null, null, Start.AddDays(-1))
        {
            RolloutVersion = 2,
            DeviceWindow = window,
            RolloutResult = healthy is bool h ? new RolloutResult(version, h, Start.AddSeconds(5)) : null,
        };

    [Fact]
    public void Evaluate_SomePending_WaitsUntilTheEarliestTimeout()
    {
        var members = new[] { Member(0, true), Member(1) };

        var (verdict, counts) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, null, Start.AddSeconds(30));

        Assert.Equal(WaveVerdict.Wait, verdict.Action);
        Assert.Equal(Start.AddMinutes(5).AddSeconds(30), verdict.WakeAt); // capped by the longest sleep
        Assert.Equal(new RolloutWaveCounts(100, 2, 1, 0, 1), counts);
        Assert.Null(verdict.HealthySince);
    }

    [Fact]
    public void Evaluate_AllHealthy_SoaksThenAdvances()
    {
        var members = new[] { Member(0, true), Member(1, true) };

        var (first, _) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, null, Start.AddSeconds(10));
        var (during, _) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, first.HealthySince, Start.AddSeconds(69));
        var (after, _) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, first.HealthySince, Start.AddSeconds(70));

        Assert.Equal(WaveVerdict.Wait, first.Action);
        Assert.Equal(Start.AddSeconds(70), first.WakeAt);
        Assert.Equal(WaveVerdict.Wait, during.Action);
        Assert.Equal(WaveVerdict.Advance, after.Action);
    }

    [Fact]
    public void Evaluate_SilentPastTheTimeout_CountsAsFailed()
    {
        var members = Enumerable.Range(0, 5).Select(i => Member(i, i == 0 ? true : null)).ToList();

        var (before, _) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, null, Start.AddSeconds(599));
        var (after, counts) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, null, Start.AddSeconds(600));

        Assert.Equal(WaveVerdict.Wait, before.Action);
        Assert.Equal(WaveVerdict.RollBack, after.Action);
        Assert.Equal(4, counts.Failed);
        Assert.Contains("4 silent", after.Reason);
    }

    [Fact]
    public void Evaluate_WindowNotOpenYet_IsPendingAndItsTimeoutStartsWhenItOpens()
    {
        // The window opens at 14:00 on the wave's day: silent only from 14:10 on.
        var window = UpdateWindow.Parse("14:00", "15:00", "UTC");
        var members = new[] { Member(0, window: window) };

        var (lateAfternoon, counts) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, null, Start.AddHours(2).AddMinutes(9));
        var (past, _) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, null, Start.AddHours(2).AddMinutes(10));

        Assert.Equal(WaveVerdict.Wait, lateAfternoon.Action);
        Assert.Equal(1, counts.Pending);
        Assert.Equal(WaveVerdict.RollBack, past.Action);
    }

    [Fact]
    public void Evaluate_FailuresAtAndBelowTheThreshold_RollBackOnlyAtIt()
    {
        var atIt = Enumerable.Range(0, 10).Select(i => Member(i, i >= 2)).ToList();
        var oneBelow = Enumerable.Range(0, 10).Select(i => Member(i, i >= 1)).ToList();

        var (rolled, _) = WaveHealth.Evaluate(atIt, 2, 0, Policy, Start, null, Start.AddSeconds(10));
        var (going, counts) = WaveHealth.Evaluate(oneBelow, 2, 0, Policy, Start, null, Start.AddSeconds(10));

        Assert.Equal(WaveVerdict.RollBack, rolled.Action);
        Assert.Contains("2 of 10", rolled.Reason);
        Assert.Equal(WaveVerdict.Wait, going.Action); // soaking: the nine healthy ones must stay so
        Assert.Equal(new RolloutWaveCounts(100, 10, 9, 1, 0), counts);
    }

    [Fact]
    public void Evaluate_AResultForAnotherVersion_IsNotThisRollouts()
    {
        var members = new[] { Member(0, false, version: 1) };

        var (verdict, counts) = WaveHealth.Evaluate(members, 2, 0, Policy, Start, null, Start.AddSeconds(10));

        Assert.Equal(WaveVerdict.Wait, verdict.Action);
        Assert.Equal(1, counts.Pending);
    }

    [Fact]
    public void Evaluate_EmptyWave_Advances()
    {
        var (verdict, _) = WaveHealth.Evaluate([], 2, 1, Policy with { Waves = [10, 100] }, Start, null, Start);

        Assert.Equal(WaveVerdict.Advance, verdict.Action);
    }
}
