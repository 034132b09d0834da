using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// How the agent process behaves as a service: SIGTERM stops it cleanly mid-download (exit 0, the
/// partial kept and resumed by the next start), and a health command can neither hang it nor hold
/// it hostage with a daemon it leaves running.
/// </summary>
public sealed class AgentLifecycleTests : IAsyncLifetime
{
    private const string Instance = "inst-life";

    private FakeDeviceApi _api = null!;
    private AgentProcess _agent = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeDeviceApi.StartAsync();
        _agent = AgentProcess.For(_api.BaseUri, FakeDeviceApi.DeviceId, FakeDeviceApi.DeviceKey);
    }

    public async Task DisposeAsync()
    {
        _agent.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task Run_SigtermMidDownload_ExitsZeroAndTheNextStartResumes()
    {
        var bytes = new byte[2_000_000];
        new Random(11).NextBytes(bytes);
        var v1 = _api.AddVersion(1, bytes);
        _api.SetTarget(Instance, v1);
        _api.Blobs.Fault(v1.Layers[0], new BlobFault { StallAt = 1_200_000 });

        var running = _agent.StartRun("--poll-seconds", "600");
        await AgentEndToEndTests.WaitForAsync(() => new FileInfo(_agent.PartialPath(v1.Layers[0])) is { Exists: true, Length: 1_200_000 }, running, "the partial at the stall");
        await running.StopAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, running.ExitCode);
        _api.Blobs.Fault(v1.Layers[0], new BlobFault());
        var resumed = await _agent.OnceAsync();
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
        var record = _agent.Report().GetProperty("downloads").EnumerateArray().Single(d => d.GetProperty("digest").GetString() == v1.Layers[0]);
        Assert.Equal(1_200_000, record.GetProperty("resumed_from").GetInt64());
        Assert.Equal(bytes.Length, _api.Blobs.SentBytes(v1.Layers[0]));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(_agent.BlobPath(v1.Layers[0])));
    }

    [Fact]
    public async Task Once_HealthCommandStartsADaemon_FinishesWithoutWaitingForIt()
    {
        _api.SetTarget(Instance, _api.AddVersion(1, new byte[1000]));
        var started = DateTime.UtcNow;

        // The daemon inherits the command's stdout and lives on; the agent must not wait for it.
        var result = await _agent.OnceAsync("--health-cmd", "sleep 20 & echo started");

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), $"took {DateTime.UtcNow - started}");
        Assert.Equal("started", _api.Reports.Single(r => r.Body.GetProperty("state").GetString() == "running").Body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Once_HealthCommandHangs_KilledAtTheTimeoutAndReportedUnhealthy()
    {
        _api.SetTarget(Instance, _api.AddVersion(1, new byte[1000]));

        var result = await _agent.OnceAsync("--health-cmd", "sleep 30", "--health-timeout-seconds", "1");

        Assert.Equal(1, result.ExitCode);
        var running = _api.Reports.Single(r => r.Body.GetProperty("state").GetString() == "running").Body;
        Assert.False(running.GetProperty("healthy").GetBoolean());
        Assert.Equal("health check did not finish within 1 s", running.GetProperty("message").GetString());
        Assert.Equal("versions/1", _agent.Current(Instance));
    }
}
