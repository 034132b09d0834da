using System.Net.Http.Json;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// The LocalHost process, started from its built dll (not <c>dotnet run</c>, whose PID is only
/// the CLI), so a test can kill it for real and start it again on the same task hub.
/// </summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly ServiceProcess _process;

    private LocalHostProcess(ServiceProcess process, Uri baseUri, string taskHub)
    {
        _process = process;
        BaseUri = baseUri;
        TaskHub = taskHub;
    }

    public Uri BaseUri { get; }

    public string TaskHub { get; }

    public int Pid => _process.Pid;

    public string ReadLog() => _process.ReadLog(20_000);

    /// <summary>Starts LocalHost against <paramref name="azurite"/>, allowing plain HTTP to <paramref name="insecureHosts"/>.</summary>
    public static Task<LocalHostProcess> StartAsync(AzuriteFixture azurite, string insecureHosts, string? taskHub = null, string? logPath = null, IReadOnlyDictionary<string, string?>? extraEnvironment = null) =>
        StartAsync(azurite.ConnectionString, insecureHosts, taskHub, logPath, extraEnvironment);

    /// <summary>
    /// Starts LocalHost against the storage of <paramref name="storageConnectionString"/>, with
    /// <paramref name="extraEnvironment"/> added to (or overriding) its settings.
    /// </summary>
    /// <param name="starting">Told the base address as soon as the process is started, before it is ready.</param>
    public static async Task<LocalHostProcess> StartAsync(string storageConnectionString, string insecureHosts, string? taskHub = null, string? logPath = null, IReadOnlyDictionary<string, string?>? extraEnvironment = null, Action<Uri>? starting = null)
    {
        // PIPELINE_LOCALHOST_DLL: a published LocalHost (e.g. compiled ahead of time) instead of the built one.
        string dll = Environment.GetEnvironmentVariable("PIPELINE_LOCALHOST_DLL") is { Length: > 0 } published
            ? Path.GetFullPath(published)
            : Path.Combine(AppContext.BaseDirectory, "Pipeline.LocalHost.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build the solution first.");
        }
        taskHub ??= "hub" + Guid.NewGuid().ToString("N")[..12];
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(dll, storageConnectionString, insecureHosts, taskHub, logPath, extraEnvironment, starting);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.Ordinal))
            {
                // The port chosen here was free a moment ago; once in a while another process takes
                // it before LocalHost binds it. Another port, again.
            }
        }
    }

    private static async Task<LocalHostProcess> StartOnceAsync(string dll, string storageConnectionString, string insecureHosts, string taskHub, string? logPath, IReadOnlyDictionary<string, string?>? extraEnvironment, Action<Uri>? starting)
    {
        int port = FreePort.Next();
        var env = new Dictionary<string, string?>
        {
            ["Pipeline__Storage__ConnectionString"] = storageConnectionString,
            ["Pipeline__AdminKey"] = AdminKey,
            ["Pipeline__Registry__InsecureHosts"] = insecureHosts,
            ["Pipeline__Durable__TaskHubName"] = taskHub,
            // Short leases: a killed process's work is picked up again within seconds.
            ["Pipeline__Durable__WorkItemVisibilityTimeout"] = "00:00:10",
            ["Pipeline__Durable__ControlQueueVisibilityTimeout"] = "00:00:10",
            ["Logging__LogLevel__Default"] = "Information",
            ["DOTNET_ENVIRONMENT"] = "Development",
        };
        foreach (var (name, value) in extraEnvironment ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }
        // A dll runs under dotnet; a self-contained build is its own executable.
        var process = dll.EndsWith(".dll", StringComparison.Ordinal)
            ? ServiceProcess.Start("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], Path.GetDirectoryName(dll)!, env, logPath)
            : ServiceProcess.Start(dll, ["--urls", $"http://127.0.0.1:{port}"], Path.GetDirectoryName(dll)!, env, logPath);
        var host = new LocalHostProcess(process, new Uri($"http://127.0.0.1:{port}"), taskHub);
        starting?.Invoke(host.BaseUri);
        try
        {
            await host.WaitReadyAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>SIGKILL, no grace: the process gets no chance to finish or record anything.</summary>
    public async Task KillAsync()
    {
        await _process.KillAsync();
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException("LocalHost exited at start:\n" + ReadLog());
            }
            try
            {
                var health = await http.GetFromJsonAsync<Dictionary<string, string>>(new Uri(BaseUri, "/api/health"));
                if (health?["status"] == "ok")
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("LocalHost did not become ready:\n" + ReadLog());
    }
}
