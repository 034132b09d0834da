using System.Text.Json;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// Runs the built <c>pipeline-agent.dll</c> as its own process (as a device runs it): <c>once</c> to
/// completion, or <c>run</c> as a <see cref="ServiceProcess"/> a test can SIGKILL. Each instance
/// is one device: its store, key file and <c>--report-json</c> in a temp folder deleted on dispose.
/// </summary>
public sealed class AgentProcess : IDisposable
{
    private static readonly TimeSpan OnceTimeout = TimeSpan.FromSeconds(60);

    private AgentProcess(Uri api, string deviceId, string folder)
    {
        Api = api;
        DeviceId = deviceId;
        Folder = folder;
    }

    public Uri Api { get; }

    public string DeviceId { get; }

    public string Folder { get; }

    public string Store => Path.Combine(Folder, "store");

    public string KeyFile => Path.Combine(Folder, "device.key");

    public string ReportPath => Path.Combine(Folder, "report.json");

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "pipeline-agent.dll");

    /// <summary>A device for <paramref name="api"/>; <paramref name="store"/> overrides where its store lives (a tmpfs).</summary>
    public static AgentProcess For(Uri api, string deviceId, string deviceKey, string? store = null)
    {
        Assert.True(File.Exists(Dll), $"{Dll} is missing: build the solution first.");
        string folder = Directory.CreateTempSubdirectory("pipeline-agent-test-").FullName;
        // The key on the first line, as provisioning writes it; whitespace around it is trimmed.
        File.WriteAllText(Path.Combine(folder, "device.key"), "  " + deviceKey + "  \n# issued by DM_register_device\n");
        var agent = new AgentProcess(api, deviceId, folder);
        if (store is not null)
        {
            agent.StoreOverride = store;
        }
        return agent;
    }

    private string? StoreOverride { get; set; }

    public string StoreRoot => StoreOverride ?? Store;

    public string BlobPath(string digest) => Path.Combine(StoreRoot, "blobs", "sha256", digest[7..]);

    public string PartialPath(string digest) => Path.Combine(StoreRoot, "partial", digest[7..]);

    /// <summary>What <c>instances/&lt;id&gt;/current</c> points to (<c>versions/N</c>), or null.</summary>
    public string? Current(string instanceId) => new FileInfo(Path.Combine(StoreRoot, "instances", instanceId, "current")).LinkTarget;

    public IReadOnlyList<string> StoredDigests() =>
        Directory.Exists(Path.Combine(StoreRoot, "blobs", "sha256"))
            ? Directory.EnumerateFiles(Path.Combine(StoreRoot, "blobs", "sha256")).Select(f => "sha256:" + Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList()
            : [];

    public Task<ProcessResult> OnceAsync(params string[] extra) =>
        ProcessRunner.RunAsync("dotnet", [Dll, "once", .. Arguments, .. extra], AppContext.BaseDirectory, OnceTimeout, Environment, checkExitCode: false);

    public ServiceProcess StartRun(params string[] extra) =>
        ServiceProcess.Start("dotnet", [Dll, "run", .. Arguments, .. extra], AppContext.BaseDirectory, Environment);

    /// <summary>The last round's <c>--report-json</c>.</summary>
    public JsonElement Report() => JsonDocument.Parse(File.ReadAllText(ReportPath)).RootElement.Clone();

    /// <summary>Bytes the agent pulled per digest in the last round, from its report.</summary>
    public Dictionary<string, long> DownloadedBytes() =>
        Report().GetProperty("downloads").EnumerateArray().ToDictionary(d => d.GetProperty("digest").GetString()!, d => d.GetProperty("bytes_downloaded").GetInt64());

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string[] Arguments =>
        ["--api", Api.ToString(), "--device", DeviceId, "--key-file", KeyFile, "--store", StoreRoot, "--report-json", ReportPath];

    /// <summary>Plain output (no terminal), whatever the test runner's console is.</summary>
    private static Dictionary<string, string?> Environment => new() { ["TERM"] = "dumb", ["NO_COLOR"] = "1" };
}
