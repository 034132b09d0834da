using Pipeline.Deployments;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;

namespace Pipeline.Tests.Deployments;

public sealed class DeploymentDecisionTests
{
    // 2030-03-04 10:00 UTC; the window 02:00-04:00 UTC opens next at 2030-03-05 02:00.
    private static readonly DateTimeOffset Now = new(2030, 3, 4, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset NextTwoAm = new(2030, 3, 5, 2, 0, 0, TimeSpan.Zero);
    private static readonly UpdateWindow Night = UpdateWindow.Parse("02:00", "04:00", "UTC");

    private static NodeServiceInstance Instance(VersionTargetSelector selector) =>
        new("ns_a.0123456789abcdef0123", "ns_a", "cust", "dev-1", "amd64", selector, null, null, Now);

    private static DeploymentRecord Sent(int version, DateTimeOffset? due = null, params (int Version, int Count)[] sends) =>
        new(version, "x", due, due is null ? null : new ScheduledHandle(7, null, null),
            sends.Length == 0 ? new Dictionary<int, int> { [version] = 1 } : sends.ToDictionary(s => s.Version, s => s.Count));

    [Fact]
    public void For_NeverSent_SendsLatestAsFirstMessage()
    {
        var d = DeploymentDecision.For(Instance(VersionTargetSelector.Latest).Selector.Resolve(3), null, null, Now);

        Assert.Equal(new DeploymentDecision(DeploymentAction.Send, 3, 1, null), d);
        Assert.Equal("ns_a.0123456789abcdef0123:3", DeploymentMessage.IdFor("ns_a.0123456789abcdef0123", 3, d.SendNumber));
    }

    [Fact]
    public void For_AlreadySentThatVersion_Skips()
    {
        var d = DeploymentDecision.For(Instance(VersionTargetSelector.Latest).Selector.Resolve(3), Sent(3), null, Now);

        Assert.Equal(DeploymentAction.Skip, d.Action);
    }

    [Fact]
    public void For_Disabled_SkipsOrWithdrawsAWaitingMessage()
    {
        Assert.Equal(DeploymentAction.Skip, DeploymentDecision.For(Instance(VersionTargetSelector.Disabled).Selector.Resolve(3), Sent(3), null, Now).Action);
        Assert.Equal(DeploymentAction.Withdraw, DeploymentDecision.For(Instance(VersionTargetSelector.Disabled).Selector.Resolve(3), Sent(3, NextTwoAm), Night, Now).Action);
    }

    [Fact]
    public void For_PinnedBackToAVersionSentBefore_NextSendNumber()
    {
        var record = Sent(3, null, (2, 1), (3, 1));

        var d = DeploymentDecision.For(Instance(VersionTargetSelector.Pinned(2)).Selector.Resolve(3), record, null, Now);

        Assert.Equal(new DeploymentDecision(DeploymentAction.Send, 2, 2, null), d);
        Assert.Equal("i:2:2", DeploymentMessage.IdFor("i", 2, d.SendNumber));
    }

    [Fact]
    public void For_DeviceOutsideItsWindow_DueAtTheWindowsNextStart_InsideItNow()
    {
        var outside = DeploymentDecision.For(Instance(VersionTargetSelector.Latest).Selector.Resolve(3), null, Night, Now);
        var inside = DeploymentDecision.For(Instance(VersionTargetSelector.Latest).Selector.Resolve(3), null, Night, NextTwoAm.AddMinutes(30));

        Assert.Equal(NextTwoAm, outside.DueAt);
        Assert.Null(inside.DueAt);
    }

    [Fact]
    public void For_WaitingMessageAndTheWindowMoved_MovesItWithTheNextSendNumber()
    {
        var evening = UpdateWindow.Parse("20:00", "22:00", "UTC");

        var moved = DeploymentDecision.For(Instance(VersionTargetSelector.Latest).Selector.Resolve(3), Sent(3, NextTwoAm), evening, Now);
        var cleared = DeploymentDecision.For(Instance(VersionTargetSelector.Latest).Selector.Resolve(3), Sent(3, NextTwoAm), null, Now);
        var unchanged = DeploymentDecision.For(Instance(VersionTargetSelector.Latest).Selector.Resolve(3), Sent(3, NextTwoAm), Night, Now);

        Assert.Equal(new DeploymentDecision(DeploymentAction.Move, 3, 2, new DateTimeOffset(2030, 3, 4, 20, 0, 0, TimeSpan.Zero)), moved);
        Assert.Equal(new DeploymentDecision(DeploymentAction.Move, 3, 2, null), cleared);
        Assert.Equal(DeploymentAction.Skip, unchanged.Action);
    }

    [Fact]
    public void For_DeliveredMessageAndTheWindowMoved_NothingToMove()
    {
        var record = Sent(3, Now.AddHours(-1));

        Assert.Equal(DeploymentAction.Skip, DeploymentDecision.For(Instance(VersionTargetSelector.Latest).Selector.Resolve(3), record, UpdateWindow.Parse("20:00", "22:00", "UTC"), Now).Action);
    }

    [Fact]
    public void Sends_FormatAndParse_RoundTrip()
    {
        var sends = new Dictionary<int, int> { [12] = 1, [3] = 2 };

        Assert.Equal("3:2,12:1", DeploymentRecord.FormatSends(sends));
        Assert.Equal(sends, DeploymentRecord.ParseSends("3:2,12:1"));
        Assert.Empty(DeploymentRecord.ParseSends("garbage,:,1:x"));
    }
}
