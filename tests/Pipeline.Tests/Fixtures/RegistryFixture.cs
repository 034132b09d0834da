using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// The CNCF distribution registry (<c>docker-registry</c> from Debian) on a free loopback port,
/// storing into a new temp folder, optionally behind htpasswd Basic auth. Use as a class or
/// collection fixture (anonymous), or call <see cref="StartAsync"/> for one with auth.
/// A missing binary fails (never skips): run scripts/setup.sh.
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime, IAsyncDisposable
{
    public const string Realm = "test-registry";

    private const string RegistryBinary = "docker-registry";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    private ServiceProcess? _process;
    private string? _directory;

    /// <summary>Used by xunit as a fixture: an anonymous registry.</summary>
    public RegistryFixture()
    {
    }

    private RegistryFixture(RegistryAuth? auth) => Auth = auth;

    private RegistryFixture(string extraSection, bool requiresAuth, int? port = null)
    {
        _extraSection = extraSection;
        _requiresAuth = requiresAuth;
        _fixedPort = port;
    }

    // More configuration given as is: an `auth:` section (token auth from RegistryTokenServer.RegistryAuthSection), or `notifications:`.
    private readonly string? _extraSection;
    private readonly bool _requiresAuth;
    private readonly int? _fixedPort;

    /// <summary>The Basic-auth credentials it requires, or null when anonymous.</summary>
    public RegistryAuth? Auth { get; }

    public int Port { get; private set; }

    /// <summary><c>127.0.0.1:PORT</c>, as used in image references.</summary>
    public string Host => $"127.0.0.1:{Port}";

    /// <summary><c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseUri => new($"http://{Host}/");

    /// <summary>The PID of the registry process.</summary>
    public int Pid => Process.Pid;

    /// <summary>The registry's storage root (deleted on dispose).</summary>
    public string StorageDirectory => Path.Combine(_directory ?? throw NotStarted(), "storage");

    public string LogPath => Process.LogPath;

    private ServiceProcess Process => _process ?? throw NotStarted();

    /// <summary>Starts a registry owned by the caller (dispose it to stop it); with Basic auth when <paramref name="auth"/> is given.</summary>
    public static async Task<RegistryFixture> StartAsync(RegistryAuth? auth = null, CancellationToken cancellationToken = default)
    {
        var fixture = new RegistryFixture(auth);
        try
        {
            await fixture.StartCoreAsync(cancellationToken);
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a registry whose configuration has <paramref name="authSection"/> (YAML starting with <c>auth:</c>), e.g. token auth.</summary>
    public static Task<RegistryFixture> StartWithAuthSectionAsync(string authSection, CancellationToken cancellationToken = default) =>
        StartWithSectionAsync(new RegistryFixture(authSection, requiresAuth: true), cancellationToken);

    /// <summary>
    /// Starts an anonymous registry on <paramref name="port"/> that sends its notifications (the
    /// CNCF registry's push events) to <paramref name="url"/> with <c>Authorization: Bearer
    /// <paramref name="bearerToken"/></c>. The port is given because whoever receives the
    /// notifications must know the registry's host before it starts.
    /// </summary>
    public static Task<RegistryFixture> StartWithNotificationsAsync(int port, string url, string bearerToken, CancellationToken cancellationToken = default) =>
        StartWithSectionAsync(new RegistryFixture(
            "notifications:\n" +
            "  endpoints:\n" +
            "    - name: pipeline\n" +
            $"      url: {url}\n" +
            "      headers:\n" +
            $"        Authorization: [Bearer {bearerToken}]\n" +
            "      timeout: 5s\n" +
            "      threshold: 10\n" +
            "      backoff: 1s\n", requiresAuth: false, port), cancellationToken);

    private static async Task<RegistryFixture> StartWithSectionAsync(RegistryFixture fixture, CancellationToken cancellationToken)
    {
        try
        {
            await fixture.StartCoreAsync(cancellationToken);
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh repository name, so each test pushes to its own.</summary>
    public static string NewRepository(string prefix = "test") => $"{prefix.ToLowerInvariant()}/{Guid.NewGuid():N}";

    /// <summary>An HttpClient for <see cref="BaseUri"/>, sending the Basic credentials when the registry has them.</summary>
    public HttpClient CreateHttpClient()
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (Auth is not null)
        {
            client.DefaultRequestHeaders.Authorization = Auth.ToBasicHeader();
        }
        return client;
    }

    Task IAsyncLifetime.InitializeAsync() => StartCoreAsync(CancellationToken.None);

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("The registry is already started.");
        }
        _directory = Directory.CreateTempSubdirectory("pipeline-registry-").FullName;
        Directory.CreateDirectory(StorageDirectory);

        string? htpasswdPath = null;
        if (Auth is not null)
        {
            htpasswdPath = Path.Combine(_directory, "htpasswd");
            var entry = await ProcessRunner.RunAsync(
                "htpasswd", ["-Bbn", Auth.User, Auth.Password], timeout: TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
            await File.WriteAllTextAsync(htpasswdPath, entry.StdOut.Trim() + "\n", cancellationToken);
        }

        string configPath = Path.Combine(_directory, "config.yml");
        _process = await ServiceProcess.StartUntilReadyAsync(
            async () =>
            {
                Port = _fixedPort ?? FreePort.Next();
                await File.WriteAllTextAsync(configPath, Config(htpasswdPath), cancellationToken);
                return ServiceProcess.Start(
                    RegistryBinary,
                    ["serve", configPath],
                    workingDirectory: _directory,
                    logPath: Path.Combine(_directory, "registry.log"));
            },
            process => WaitUntilReadyAsync(process, cancellationToken),
            log => $"The registry did not answer GET http://{Host}/v2/ within {ReadyTimeout.TotalSeconds} s. Log:\n{log}");
    }

    private string Config(string? htpasswdPath)
    {
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var config =
            $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {StorageDirectory}
              delete:
                enabled: true
            http:
              addr: {Host}
              secret: {secret}
            """;
        if (htpasswdPath is not null)
        {
            config +=
                $"""

                auth:
                  htpasswd:
                    realm: {Realm}
                    path: {htpasswdPath}
                """;
        }
        if (_extraSection is not null)
        {
            config += "\n" + _extraSection;
        }
        return config + "\n";
    }

    private async Task<bool> WaitUntilReadyAsync(ServiceProcess process, CancellationToken cancellationToken)
    {
        var expected = Auth is null && !_requiresAuth ? HttpStatusCode.OK : HttpStatusCode.Unauthorized;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < ReadyTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                return false;
            }
            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, "v2/"), cancellationToken);
                if (response.StatusCode == expected)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            await Task.Delay(50, cancellationToken);
        }
        return false;
    }

    private static InvalidOperationException NotStarted() => new("The registry is not started.");
}
