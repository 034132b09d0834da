using Pipeline.Fleet.Rollout;

namespace Pipeline.Tests.Fleet.Rollout;

public sealed class VersionTargetSelectorTests
{
    [Theory]
    [InlineData(null, VersionTargetKind.Latest, null, 7)]
    [InlineData("latest", VersionTargetKind.Latest, null, 7)]
    [InlineData("version:201", VersionTargetKind.Pinned, "version:201", 201)]
    [InlineData("version:1", VersionTargetKind.Pinned, "version:1", 1)]
    [InlineData("disabled", VersionTargetKind.Disabled, "disabled", null)]
    public void Parse_ValidValue_ResolvesAgainstLatest7(string? value, VersionTargetKind kind, string? apiValue, int? resolved)
    {
        var selector = VersionTargetSelector.Parse(value);

        Assert.Equal(kind, selector.Kind);
        Assert.Equal(apiValue, selector.ToApiValue());
        Assert.Equal(resolved, selector.Resolve(7));
        Assert.Equal(selector, VersionTargetSelector.FromStorageValue(selector.ToStorageValue()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("version:")]
    [InlineData("version:0")]
    [InlineData("version:01")]
    [InlineData("version:-1")]
    [InlineData("version:1.5")]
    [InlineData("version:99999999999")]
    [InlineData("v1")]
    [InlineData("Disabled")]
    public void Parse_InvalidValue_IsBadInput(string value)
    {
        var e = Assert.Throws<PipelineException>(() => VersionTargetSelector.Parse(value));
        Assert.Equal(ErrorCodes.BadInput, e.Code);
        Assert.Contains("version_target_selector", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_LatestWithNoVersionYet_IsNull()
    {
        Assert.Null(VersionTargetSelector.Latest.Resolve(null));
        Assert.Equal(3, VersionTargetSelector.Pinned(3).Resolve(null));
    }

    [Fact]
    public void FromStorageValue_UnknownValue_ReadsAsDisabled()
    {
        Assert.Equal(VersionTargetKind.Disabled, VersionTargetSelector.FromStorageValue("something-new").Kind);
        Assert.Equal(VersionTargetKind.Latest, VersionTargetSelector.FromStorageValue(null).Kind);
    }
}
