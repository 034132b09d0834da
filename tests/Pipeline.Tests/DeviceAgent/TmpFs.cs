using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// A real, small filesystem for the full-disk tests: a tmpfs of a few MiB mounted on a temp
/// folder (the tests run as root; CI does too). Unmounted and removed on dispose.
/// </summary>
public sealed class TmpFs : IAsyncDisposable
{
    private TmpFs(string path) => Path = path;

    public string Path { get; }

    public static async Task<TmpFs> MountAsync(long sizeBytes)
    {
        string path = Directory.CreateTempSubdirectory("pipeline-agent-tmpfs-").FullName;
        var mounted = await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={sizeBytes}", "tmpfs", path], timeout: TimeSpan.FromSeconds(10), checkExitCode: false);
        if (mounted.ExitCode != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount -t tmpfs failed ({mounted.StdErr.Trim()}): the full-disk tests need root and a kernel that allows tmpfs mounts.");
        }
        return new TmpFs(path);
    }

    /// <summary>Fills the filesystem to the last byte, the way a log that runs away does.</summary>
    public void Fill()
    {
        using var filler = new FileStream(System.IO.Path.Combine(Path, "filler"), FileMode.Create, FileAccess.Write, FileShare.None, 0);
        var block = new byte[64 * 1024];
        try
        {
            while (true)
            {
                filler.Write(block);
            }
        }
        catch (IOException)
        {
            // Full: try the last partial block byte by byte.
        }
        try
        {
            while (true)
            {
                filler.Write(block, 0, 1);
            }
        }
        catch (IOException)
        {
        }
    }

    public void Unfill() => File.Delete(System.IO.Path.Combine(Path, "filler"));

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("umount", ["-l", Path], timeout: TimeSpan.FromSeconds(10), checkExitCode: false);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
