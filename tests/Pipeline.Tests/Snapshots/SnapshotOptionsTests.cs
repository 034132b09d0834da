using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Snapshots;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Snapshots;

/// <summary>Snapshot settings the store cannot run with stop the host at start, naming the setting.</summary>
public sealed class SnapshotOptionsTests
{
    [Theory]
    [InlineData("StreamedUploadMaxMiB", "-1")]
    [InlineData("StreamedUploadMaxMiB", "4001")]
    [InlineData("BlockSizeMiB", "0")]
    [InlineData("BlockSizeMiB", "4001")]
    [InlineData("BlocksInFlightPerBlob", "0")]
    [InlineData("MaxBufferedBlocks", "0")]
    public async Task HostStart_BadSnapshotSetting_RefusedNamingIt(string setting, string value)
    {
        using var host = PipelineHost.Build(("Pipeline:Snapshots:" + setting, value));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Pipeline:Snapshots:" + setting + " must be", e.Message, StringComparison.Ordinal);
        Assert.Single(e.Failures);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("4000")]
    public void Settings_AtTheLimits_AreValid(string streamedMaxMiB)
    {
        using var host = PipelineHost.Build(("Pipeline:Snapshots:StreamedUploadMaxMiB", streamedMaxMiB), ("Pipeline:Snapshots:BlockSizeMiB", "4000"));

        Assert.Equal(int.Parse(streamedMaxMiB), host.Services.GetRequiredService<IOptions<SnapshotOptions>>().Value.StreamedUploadMaxMiB);
    }

    [Fact]
    public void Defaults_AreValid()
    {
        using var host = PipelineHost.Build();

        Assert.Equal(SnapshotOptions.PutBlobMaxMiB, host.Services.GetRequiredService<IOptions<SnapshotOptions>>().Value.StreamedUploadMaxMiB);
    }
}
