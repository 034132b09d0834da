using Pipeline.Fleet.Rollout;

namespace Pipeline.Tests.Rollouts;

public sealed class RolloutPolicyTests
{
    [Fact]
    public void Parse_Empty_IsTheDocumentedDefault()
    {
        var policy = RolloutPolicy.Parse(new Dictionary<string, object?>());

        Assert.Equal([100], policy.Waves);
        Assert.Equal(1, policy.MinWaveInstances);
        Assert.Equal(300, policy.SoakSeconds);
        Assert.Equal(20, policy.MaxFailurePercent);
        Assert.Equal(3600, policy.ReportTimeoutSeconds);
    }

    [Fact]
    public void Parse_AllFields_AreKept()
    {
        var policy = RolloutPolicy.Parse(new Dictionary<string, object?>
        {
            ["waves"] = new List<object?> { 10, 50, 100 },
            ["min_wave_instances"] = 3,
            ["soak_seconds"] = 0,
            ["max_failure_percent"] = 12.5,
            ["report_timeout_seconds"] = 60,
        });

        Assert.Equal([10, 50, 100], policy.Waves);
        Assert.Equal(3, policy.MinWaveInstances);
        Assert.Equal(0, policy.SoakSeconds);
        Assert.Equal(12.5, policy.MaxFailurePercent);
        Assert.Equal(60, policy.ReportTimeoutSeconds);
    }

    [Theory]
    [InlineData("waves", "rollout_policy.waves")]
    [InlineData("falling", "rollout_policy.waves[1]")]
    [InlineData("not100", "rollout_policy.waves")]
    [InlineData("zero", "rollout_policy.waves[0]")]
    [InlineData("min_wave_instances", "rollout_policy.min_wave_instances")]
    [InlineData("soak_seconds", "rollout_policy.soak_seconds")]
    [InlineData("max_failure_percent", "rollout_policy.max_failure_percent")]
    [InlineData("report_timeout_seconds", "rollout_policy.report_timeout_seconds")]
    public void Parse_OutOfRange_IsBadInputNamingTheField(string bad, string field)
    {
        var input = new Dictionary<string, object?>();
        switch (bad)
        {
            case "waves": input["waves"] = new List<object?>(); break;
            case "falling": input["waves"] = new List<object?> { 50, 50, 100 }; break;
            case "not100": input["waves"] = new List<object?> { 10, 90 }; break;
            case "zero": input["waves"] = new List<object?> { 0, 100 }; break;
            case "min_wave_instances": input[bad] = 0; break;
            case "soak_seconds": input[bad] = -1; break;
            case "max_failure_percent": input[bad] = 100.5; break;
            case "report_timeout_seconds": input[bad] = 0; break;
        }

        var e = Assert.Throws<PipelineException>(() => RolloutPolicy.Parse(input));

        Assert.Equal(ErrorCodes.BadInput, e.Code);
        Assert.Contains(field + ":", e.Message);
    }

    [Theory]
    [InlineData(20, 10, 2, true)]   // exactly at the threshold: rolled back
    [InlineData(20, 10, 1, false)]  // one below: goes on
    [InlineData(20, 5, 1, true)]    // 20 % of 5 is one instance
    [InlineData(20, 6, 1, false)]   // 16.7 %
    [InlineData(0, 100, 1, true)]   // 0 %: any failure
    [InlineData(0, 100, 0, false)]  // ... but not none
    [InlineData(100, 4, 3, false)]  // 100 %: only everyone
    [InlineData(100, 4, 4, true)]
    [InlineData(33.3, 3, 1, true)]
    public void RollsBack_Threshold_IsReachedAtTheBoundary(double percent, int members, int failed, bool expected)
    {
        var policy = RolloutPolicy.Default with { MaxFailurePercent = percent };

        Assert.Equal(expected, policy.RollsBack(failed, members));
    }
}
