using System.Text.Json;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// TEST-MATRIX row 32, a full disk, on a real small filesystem (a tmpfs): the round fails with a
/// clear message, the status says why, and the running version stays current. Both ways a disk
/// runs out: too little room before a version starts, and the disk filling up mid-download.
/// </summary>
public sealed class AgentDiskTests : IAsyncLifetime
{
    private const string Instance = "inst-disk";
    private const long MiB = 1024 * 1024;

    private FakeDeviceApi _api = null!;

    public async Task InitializeAsync() => _api = await FakeDeviceApi.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Once_VersionLargerThanFreeSpace_FailsBeforeDownloadingAndCurrentStays()
    {
        await using var disk = await TmpFs.MountAsync(2 * MiB);
        using var agent = AgentProcess.For(_api.BaseUri, FakeDeviceApi.DeviceId, FakeDeviceApi.DeviceKey, store: Path.Combine(disk.Path, "store"));
        _api.SetTarget(Instance, _api.AddVersion(1, Bytes(100_000, 1)));
        Assert.Equal(0, (await agent.OnceAsync()).ExitCode);
        var v2 = _api.AddVersion(2, Bytes((int)(3 * MiB), 2));
        _api.SetTarget(Instance, v2);

        var result = await agent.OnceAsync();

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"not enough disk space: need 3\.\d MiB, have 1\.\d MiB", result.StdErr);
        Assert.Equal("versions/1", agent.Current(Instance));
        Assert.Equal(0, _api.Blobs.Requests(v2.Layers[0]));
        Assert.False(File.Exists(agent.PartialPath(v2.Layers[0])));
        AssertFailedReport(2);
    }

    [Fact]
    public async Task Once_DiskFillsUpMidDownload_FailsClearlyFreesThePartialAndCurrentStays()
    {
        await using var disk = await TmpFs.MountAsync(4 * MiB);
        using var agent = AgentProcess.For(_api.BaseUri, FakeDeviceApi.DeviceId, FakeDeviceApi.DeviceKey, store: Path.Combine(disk.Path, "store"));
        _api.SetTarget(Instance, _api.AddVersion(1, Bytes(100_000, 3)));
        Assert.Equal(0, (await agent.OnceAsync()).ExitCode);
        var v2 = _api.AddVersion(2, Bytes((int)(2 * MiB), 4));
        _api.SetTarget(Instance, v2);
        // Room enough when the version starts; something else on the device takes it all half way through.
        _api.Blobs.Fault(v2.Layers[0], new BlobFault { HookAt = MiB, AtOffset = () => Task.Run(disk.Fill) });

        var result = await agent.OnceAsync();

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not enough disk space", result.StdErr);
        Assert.Equal("versions/1", agent.Current(Instance));
        Assert.False(File.Exists(agent.PartialPath(v2.Layers[0])), "a full disk gives the half download's room back to the running version");
        Assert.False(File.Exists(agent.BlobPath(v2.Layers[0])));
        AssertFailedReport(2);

        // Once there is room again, the next round finishes. The filler may still be writing when it
        // is deleted (it takes the room the agent's partial gave back, byte by byte), and a deleted
        // file's room comes back only when its handle closes: wait for that.
        disk.Unfill();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (new DriveInfo(disk.Path).AvailableFreeSpace < 3 * MiB && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var retried = await agent.OnceAsync();
        Assert.True(retried.ExitCode == 0, retried.StdErr);
        Assert.Equal("versions/2", agent.Current(Instance));
    }

    private void AssertFailedReport(int version)
    {
        var failed = _api.Reports.Select(r => r.Body).Last();
        Assert.Equal(("failed", version, false), (failed.GetProperty("state").GetString(), failed.GetProperty("container_version").GetInt32(), failed.GetProperty("healthy").GetBoolean()));
        Assert.StartsWith("not enough disk space", failed.GetProperty("message").GetString());
    }

    private static byte[] Bytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
