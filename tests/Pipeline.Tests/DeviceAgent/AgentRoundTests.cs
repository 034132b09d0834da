using System.Text.Json;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// <c>pipeline-agent</c> as a process against the contract served in process: what it installs,
/// keeps, collects and reports, and how it exits.
/// </summary>
public sealed class AgentRoundTests : FakeApiAgentTests
{
    private const string Instance = "inst-a";
    private const string Disabled = "inst-off";

    [Fact]
    public async Task Once_NewVersions_InstallsSwitchesCurrentKeepsPreviousAndCollectsGarbage()
    {
        byte[] a = Bytes(300_000, 1), b = Bytes(200_000, 2), c = Bytes(250_000, 3), d = Bytes(100_000, 4);
        var v1 = Api.AddVersion(1, a, b);
        Api.SetTarget(Instance, v1);
        Api.SetTarget(Disabled, null);
        const string health = "test \"$AGENT_VERSION_DIR\" = \"$PWD\" && grep -q \"APP_VERSION=$AGENT_VERSION\" lxc.env && echo \"up $AGENT_INSTANCE_ID v$AGENT_VERSION\"";

        var first = await Agent.OnceAsync("--health-cmd", health);

        Assert.True(first.ExitCode == 0, first.StdErr + first.StdOut);
        Assert.Equal("versions/1", Agent.Current(Instance));
        Assert.Equal(Digests(v1), Agent.StoredDigests());
        string folder = Path.Combine(Agent.Store, "instances", Instance, "versions", "1");
        Assert.Equal(Api.Blobs.Bytes(v1.Config), await File.ReadAllBytesAsync(Path.Combine(folder, "config.json")));
        Assert.Equal("APP_VERSION=1\n", await File.ReadAllTextAsync(Path.Combine(folder, "lxc.env")));
        Assert.Equal("hello", JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "config_map.json"))).RootElement.GetProperty("greeting").GetString());
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "manifest.json"))).RootElement;
        Assert.Equal(v1.Layers, manifest.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!));
        Assert.Equal("disabled", JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "network.json"))).RootElement.GetProperty("wan_configure_network").GetString());
        Assert.False(Directory.Exists(Path.Combine(Agent.Store, "instances", Disabled)));
        var reports = Api.Reports.ToList();
        Assert.All(reports, r => Assert.Equal(Instance, r.Instance));
        Assert.Equal([("downloading", 1), ("running", 1)], reports.Select(r => (State(r.Body), Version(r.Body))));
        Assert.True(reports[1].Body.GetProperty("healthy").GetBoolean());
        Assert.Equal($"up {Instance} v1", Message(reports[1].Body));

        // Version 2 shares layer a: only its config and layer c come down.
        var v2 = Api.AddVersion(2, a, c);
        Api.SetTarget(Instance, v2);
        var second = await Agent.OnceAsync();
        Assert.True(second.ExitCode == 0, second.StdErr + second.StdOut);
        Assert.Equal(new[] { v2.Config, v2.Layers[1] }.Order(StringComparer.Ordinal), Agent.DownloadedBytes().Keys.Order(StringComparer.Ordinal));
        Assert.Equal("versions/2", Agent.Current(Instance));
        Assert.Equal("versions/1", new FileInfo(Path.Combine(Agent.Store, "instances", Instance, "previous")).LinkTarget);
        Assert.Equal(Digests(v1).Union(Digests(v2)).Order(StringComparer.Ordinal), Agent.StoredDigests());

        // Version 3: version 1 is no longer kept, and its blobs that version 2 does not share go.
        var v3 = Api.AddVersion(3, d);
        Api.SetTarget(Instance, v3);
        var third = await Agent.OnceAsync();
        Assert.True(third.ExitCode == 0, third.StdErr + third.StdOut);
        Assert.Equal(["2", "3"], Directory.EnumerateDirectories(Path.Combine(Agent.Store, "instances", Instance, "versions")).Select(Path.GetFileName).Order());
        Assert.Equal(Digests(v2).Union(Digests(v3)).Order(StringComparer.Ordinal), Agent.StoredDigests());

        // A rollback to the kept previous version needs no download at all.
        Api.SetTarget(Instance, v2);
        var back = await Agent.OnceAsync();
        Assert.True(back.ExitCode == 0, back.StdErr + back.StdOut);
        Assert.Equal("versions/2", Agent.Current(Instance));
        Assert.Empty(Agent.DownloadedBytes());
    }

    [Fact]
    public async Task Once_BlobWhoseBytesDoNotMatchItsName_DetectedOnStartAndDownloadedAgain()
    {
        var v1 = Api.AddVersion(1, Bytes(400_000, 5), Bytes(100_000, 6));
        Api.SetTarget(Instance, v1);
        Assert.Equal(0, (await Agent.OnceAsync()).ExitCode);
        string damaged = Agent.BlobPath(v1.Layers[0]);
        using (var file = new FileStream(damaged, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 1234;
            file.WriteByte(0x5A);
        }

        var repaired = await Agent.OnceAsync();

        Assert.True(repaired.ExitCode == 0, repaired.StdErr);
        Assert.Contains($"damaged blob removed from the store: {v1.Layers[0]}", repaired.StdErr);
        Assert.Contains(v1.Layers[0], Assert.Single(Agent.Report().GetProperty("damaged_blobs_removed").EnumerateArray()).GetString());
        Assert.Equal([v1.Layers[0]], Agent.DownloadedBytes().Keys);
        Assert.Equal(Api.Blobs.Bytes(v1.Layers[0]), await File.ReadAllBytesAsync(damaged));
    }

    [Fact]
    public async Task Once_HealthCommandFails_ReportsRunningUnhealthyAndExitsNonZero()
    {
        Api.SetTarget(Instance, Api.AddVersion(1, Bytes(10_000, 7)));

        var result = await Agent.OnceAsync("--health-cmd", "echo starting; echo 'port 8080 not answering' >&2; exit 3");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("port 8080 not answering", result.StdErr);
        var running = Api.Reports.Single(r => State(r.Body) == "running").Body;
        Assert.False(running.GetProperty("healthy").GetBoolean());
        Assert.Equal("port 8080 not answering", Message(running));
    }

    [Fact]
    public async Task Run_TargetChanges_NextPollInstallsItAndAnUnchangedTargetIsNotModified()
    {
        Api.SetTarget(Instance, Api.AddVersion(1, Bytes(20_000, 8)));
        await using var agent = Agent.StartRun("--poll-seconds", "1");
        await WaitUntilAsync(() => Agent.Current(Instance) == "versions/1", agent);

        Api.SetTarget(Instance, Api.AddVersion(2, Bytes(20_000, 9)));
        await WaitUntilAsync(() => Agent.Current(Instance) == "versions/2", agent);
        // The round ends with its report, sent after the switch to the new version.
        await WaitUntilAsync(() => Api.Reports.Any(r => (State(r.Body), Version(r.Body)) == ("running", 2)), agent);
        int reports = Api.Reports.Count;
        await Task.Delay(2500);
        // Polls in between answered 304: no round ran, so nothing was reported again.
        Assert.Equal(reports, Api.Reports.Count);
    }

    [Fact]
    public async Task Cli_BadArguments_ExitsTwoWithTheReason()
    {
        var missing = await ProcessRunner.RunAsync("dotnet", [AgentProcess.Dll, "once", "--api", "http://127.0.0.1:1"], checkExitCode: false);
        var noKey = await ProcessRunner.RunAsync("dotnet", [AgentProcess.Dll, "once", "--api", "http://127.0.0.1:1", "--device", "d", "--key-file", "/nonexistent/key", "--store", Agent.Store], checkExitCode: false);

        var noSubscription = await ProcessRunner.RunAsync("dotnet", [AgentProcess.Dll, "run", "--api", "http://127.0.0.1:1", "--device", "d", "--key-file", Agent.KeyFile, "--store", Agent.Store,
            "--servicebus-connection-string", "Endpoint=sb://127.0.0.1/;SharedAccessKeyName=k;SharedAccessKey=a2V5"], checkExitCode: false);

        Assert.Equal((2, 2, 2), (missing.ExitCode, noKey.ExitCode, noSubscription.ExitCode));
        Assert.Contains("--device", missing.StdErr);
        Assert.Contains("key file", noKey.StdErr);
        Assert.Contains("--subscription", noSubscription.StdErr);
        Assert.DoesNotContain(FakeDeviceApi.DeviceKey, noSubscription.StdErr + noSubscription.StdOut);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, ServiceProcess agent)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline && !agent.HasExited, "the agent did not get there:\n" + agent.ReadLog());
            await Task.Delay(100);
        }
    }

    private static IEnumerable<string> Digests(FakeVersion v) => v.Layers.Prepend(v.Config).Order(StringComparer.Ordinal);

    private static string State(JsonElement report) => report.GetProperty("state").GetString()!;

    private static int Version(JsonElement report) => report.GetProperty("container_version").GetInt32();

    private static string? Message(JsonElement report) => report.GetProperty("message").GetString();

    private static byte[] Bytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
