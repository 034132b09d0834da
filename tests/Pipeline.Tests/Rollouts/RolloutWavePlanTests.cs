using Pipeline.Fleet.Rollout;
using Pipeline.Rollouts;

namespace Pipeline.Tests.Rollouts;

public sealed class RolloutWavePlanTests
{
    private static RolloutPolicy Waves(int min, params int[] waves) => RolloutPolicy.Default with { Waves = waves, MinWaveInstances = min };

    [Theory]
    [InlineData(100, 1, new[] { 10, 50, 100 }, new[] { 10, 40, 50 })]
    [InlineData(10, 1, new[] { 1, 100 }, new[] { 1, 9 })]
    [InlineData(10, 5, new[] { 1, 20, 100 }, new[] { 5, 5, 0 })]
    [InlineData(3, 1, new[] { 10, 50, 100 }, new[] { 1, 1, 1 })]
    [InlineData(0, 1, new[] { 10, 100 }, new[] { 0, 0 })]
    [InlineData(7, 1, new[] { 100 }, new[] { 7 })]
    public void Sizes_CumulativePercentsWithAMinimum_AddUpToEveryone(int count, int min, int[] waves, int[] expected)
    {
        var sizes = RolloutWavePlan.Sizes(count, Waves(min, waves));

        Assert.Equal(expected, sizes);
        Assert.Equal(count, sizes.Sum());
    }

    [Fact]
    public void Plan_ThreeArchitectures_EachWaveMixesThemInProportion()
    {
        var members = Enumerable.Range(0, 60).Select(i => ($"ns.i{i:D3}", i % 3 == 0 ? "amd64" : i % 3 == 1 ? "arm64" : "armhf")).ToList();

        var (assignments, sizes) = RolloutWavePlan.Plan(members, Waves(1, 10, 50, 100));

        Assert.Equal([6, 24, 30], sizes);
        var arch = members.ToDictionary(m => m.Item1, m => m.Item2);
        var first = assignments.Where(a => a.Wave == 0).Select(a => arch[a.InstanceId]).ToList();
        Assert.Equal(2, first.Count(a => a == "amd64"));
        Assert.Equal(2, first.Count(a => a == "arm64"));
        Assert.Equal(2, first.Count(a => a == "armhf"));
        Assert.Equal(60, assignments.Select(a => a.InstanceId).Distinct().Count());
    }

    [Fact]
    public void Plan_SameFleetInAnotherOrder_SplitsTheSameWay()
    {
        var members = Enumerable.Range(0, 40).Select(i => ($"ns.i{i:D3}", i % 2 == 0 ? "amd64" : "arm64")).ToList();
        var policy = Waves(1, 25, 100);

        var a = RolloutWavePlan.Plan(members, policy).Assignments.OrderBy(x => x.InstanceId, StringComparer.Ordinal);
        var b = RolloutWavePlan.Plan(members.AsEnumerable().Reverse().ToList(), policy).Assignments.OrderBy(x => x.InstanceId, StringComparer.Ordinal);

        Assert.Equal(a, b);
    }
}
