using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// How the agent process behaves as a service: SIGTERM stops it cleanly mid-download (exit 0, the
/// partial kept and resumed by the next start), and a health command can neither hang it nor hold
/// it hostage with a daemon it leaves running.
/// </summary>
public sealed class AgentLifecycleTests : FakeApiAgentTests
{
    private const string Instance = "inst-life";

    [Fact]
    public async Task Run_SigtermMidDownload_ExitsZeroAndTheNextStartResumes()
    {
        var bytes = new byte[2_000_000];
        new Random(11).NextBytes(bytes);
        var v1 = Api.AddVersion(1, bytes);
        Api.SetTarget(Instance, v1);
        Api.Blobs.Fault(v1.Layers[0], new BlobFault { StallAt = 1_200_000 });

        var running = Agent.StartRun("--poll-seconds", "600");
        await AgentEndToEndTests.WaitForAsync(() => new FileInfo(Agent.PartialPath(v1.Layers[0])) is { Exists: true, Length: 1_200_000 }, running, "the partial at the stall");
        await running.StopAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, running.ExitCode);
        Api.Blobs.Fault(v1.Layers[0], new BlobFault());
        var resumed = await Agent.OnceAsync();
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
        var record = Agent.Report().GetProperty("downloads").EnumerateArray().Single(d => d.GetProperty("digest").GetString() == v1.Layers[0]);
        Assert.Equal(1_200_000, record.GetProperty("resumed_from").GetInt64());
        Assert.Equal(bytes.Length, Api.Blobs.SentBytes(v1.Layers[0]));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Agent.BlobPath(v1.Layers[0])));
    }

    [Fact]
    public async Task Once_HealthCommandStartsADaemon_FinishesWithoutWaitingForIt()
    {
        Api.SetTarget(Instance, Api.AddVersion(1, new byte[1000]));
        var started = DateTime.UtcNow;

        // The daemon inherits the command's stdout and lives on; the agent must not wait for it.
        var result = await Agent.OnceAsync("--health-cmd", "sleep 20 & echo started");

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), $"took {DateTime.UtcNow - started}");
        Assert.Equal("started", Api.Reports.Single(r => r.Body.GetProperty("state").GetString() == "running").Body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Once_HealthCommandHangs_KilledAtTheTimeoutAndReportedUnhealthy()
    {
        Api.SetTarget(Instance, Api.AddVersion(1, new byte[1000]));

        var result = await Agent.OnceAsync("--health-cmd", "sleep 30", "--health-timeout-seconds", "1");

        Assert.Equal(1, result.ExitCode);
        var running = Api.Reports.Single(r => r.Body.GetProperty("state").GetString() == "running").Body;
        Assert.False(running.GetProperty("healthy").GetBoolean());
        Assert.Equal("health check did not finish within 1 s", running.GetProperty("message").GetString());
        Assert.Equal("versions/1", Agent.Current(Instance));
    }
}
