using Pipeline.Fleet.Instances;

namespace Pipeline.Tests.Rollouts;

/// <summary>TEST-MATRIX row 33 at the rule: only the first valid report of the rolling version moves a rollout.</summary>
public sealed class RolloutResultTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static InstanceStatus Report(int version, string state, bool healthy) => new(version, state, healthy, null, At);

    [Fact]
    public void Next_FirstHealthyReport_MovesToHealthy()
    {
        var next = RolloutResult.Next(null, 2, Report(2, InstanceStatus.Running, true));

        Assert.Equal(new RolloutResult(2, true, At), next);
    }

    [Fact]
    public void Next_SameReportTwice_MovesNothing()
    {
        var first = RolloutResult.Next(null, 2, Report(2, InstanceStatus.Running, true));

        Assert.Null(RolloutResult.Next(first, 2, Report(2, InstanceStatus.Running, true)));
    }

    [Fact]
    public void Next_DownloadingAfterRunning_OutOfOrder_MovesNothing()
    {
        var first = RolloutResult.Next(null, 2, Report(2, InstanceStatus.Running, true));

        Assert.Null(RolloutResult.Next(first, 2, Report(2, InstanceStatus.Downloading, false)));
        Assert.Null(RolloutResult.Next(null, 2, Report(2, InstanceStatus.Downloading, false)));
    }

    [Fact]
    public void Next_OlderVersion_MovesNothing()
    {
        Assert.Null(RolloutResult.Next(null, 2, Report(1, InstanceStatus.Failed, false)));
        Assert.Null(RolloutResult.Next(null, 2, Report(1, InstanceStatus.Running, true)));
    }

    [Fact]
    public void Next_FailureAfterHealthy_Counts_ButHealthyAfterFailureDoesNot()
    {
        var healthy = RolloutResult.Next(null, 2, Report(2, InstanceStatus.Running, true));
        var failed = RolloutResult.Next(healthy, 2, Report(2, InstanceStatus.Running, false));

        Assert.Equal(new RolloutResult(2, false, At), failed);
        Assert.Null(RolloutResult.Next(failed, 2, Report(2, InstanceStatus.Running, true)));
        Assert.Equal(new RolloutResult(2, false, At), RolloutResult.Next(null, 2, Report(2, InstanceStatus.Failed, false)));
    }
}
