using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// Azurite from the repository's pinned npm package, on three free loopback ports, with its data
/// in a new temp folder. Use as a class or collection fixture, or call <see cref="StartAsync"/>.
/// A missing Azurite fails (never skips): run scripts/setup.sh.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime, IAsyncDisposable
{
    /// <summary>Azurite's well-known development account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development account key.</summary>
    public const string AccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private static readonly Lazy<Task<AzuriteFixture>> LazyShared = new(StartSharedAsync);

    private ServiceProcess? _process;
    private string? _dataDirectory;

    /// <summary>Set for an instance started by <see cref="StartWithOAuthAsync"/>: HTTPS with this certificate.</summary>
    public X509Certificate2? Certificate { get; private set; }

    private string Scheme => Certificate is null ? "http" : "https";

    public int BlobPort { get; private set; }

    public int QueuePort { get; private set; }

    public int TablePort { get; private set; }

    public Uri BlobEndpoint => new($"{Scheme}://127.0.0.1:{BlobPort}/{AccountName}");

    public Uri QueueEndpoint => new($"{Scheme}://127.0.0.1:{QueuePort}/{AccountName}");

    public Uri TableEndpoint => new($"{Scheme}://127.0.0.1:{TablePort}/{AccountName}");

    /// <summary>A connection string for the development account with explicit endpoints on this instance's ports.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint={BlobEndpoint};QueueEndpoint={QueueEndpoint};TableEndpoint={TableEndpoint};";

    /// <summary>The PID of the Azurite node process.</summary>
    public int Pid => Process.Pid;

    /// <summary>Azurite's data folder (deleted on dispose).</summary>
    public string DataDirectory => _dataDirectory ?? throw NotStarted();

    public string LogPath => Process.LogPath;

    private ServiceProcess Process => _process ?? throw NotStarted();

    /// <summary>Starts an Azurite instance owned by the caller (dispose it to stop it).</summary>
    public static Task<AzuriteFixture> StartAsync(CancellationToken cancellationToken = default) => StartAsync([], cancellationToken);

    /// <summary>Likewise, with more of Azurite's options (such as <c>--debug FILE</c>, a log of every request).</summary>
    public static async Task<AzuriteFixture> StartAsync(IReadOnlyList<string> extraArguments, CancellationToken cancellationToken = default)
    {
        var fixture = new AzuriteFixture();
        try
        {
            await fixture.StartCoreAsync(cancellationToken, [.. extraArguments]);
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// An instance owned by the caller that serves HTTPS with a new self-signed certificate for
    /// 127.0.0.1 (<see cref="Certificate"/>) and accepts bearer tokens (Azurite's basic OAuth:
    /// format, issuer, audience and lifetime are checked, not the signature), as Azure Storage
    /// does for a managed identity. User-delegation keys are only issued in this mode.
    /// </summary>
    public static async Task<AzuriteFixture> StartWithOAuthAsync(CancellationToken cancellationToken = default)
    {
        var fixture = new AzuriteFixture();
        try
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            fixture.Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
            fixture._dataDirectory = Directory.CreateTempSubdirectory("pipeline-azurite-").FullName;
            string certPath = Path.Combine(fixture._dataDirectory, "cert.pem");
            string keyPath = Path.Combine(fixture._dataDirectory, "key.pem");
            await File.WriteAllTextAsync(certPath, fixture.Certificate.ExportCertificatePem(), cancellationToken);
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem(), cancellationToken);
            await fixture.StartCoreAsync(cancellationToken, ["--oauth", "basic", "--cert", certPath, "--key", keyPath]);
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>A handler that trusts this instance's certificate (and, over HTTP, needs none).</summary>
    public HttpClientHandler CreateHandler() => new()
    {
        ServerCertificateCustomValidationCallback = (_, cert, _, errors) =>
            errors == System.Net.Security.SslPolicyErrors.None || (Certificate is not null && cert is not null && cert.Thumbprint == Certificate.Thumbprint),
    };

    /// <summary>
    /// One instance for the whole test run, started on first use and stopped (by PID) when the
    /// test host exits. Tests that share it must each use their own container, queue or table.
    /// </summary>
    public static Task<AzuriteFixture> GetSharedAsync() => LazyShared.Value;

    /// <summary>A fresh, valid blob container (or queue/table) name, so each test works in its own.</summary>
    public static string NewContainerName(string prefix = "test") =>
        $"{prefix.ToLowerInvariant()}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];

    Task IAsyncLifetime.InitializeAsync() => StartCoreAsync(CancellationToken.None);

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        if (_dataDirectory is not null)
        {
            TryDeleteDirectory(_dataDirectory);
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken, string[]? extraArguments = null)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("Azurite is already started.");
        }
        var script = RepoPaths.AzuriteScript;
        if (!File.Exists(script))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed ({script} is missing). Run scripts/setup.sh in {RepoPaths.Root}.");
        }

        _dataDirectory ??= Directory.CreateTempSubdirectory("pipeline-azurite-").FullName;
        _process = await ServiceProcess.StartUntilReadyAsync(
            () =>
            {
                var ports = FreePort.Next(3);
                (BlobPort, QueuePort, TablePort) = (ports[0], ports[1], ports[2]);
                return Task.FromResult(ServiceProcess.Start(
                    "bash",
                    [
                        // The launcher holds the Node settings shared with the demo and execs node,
                        // so the started PID is Azurite's own.
                        RepoPaths.AzuriteLauncher, "--location", _dataDirectory,
                        "--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(),
                        "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(),
                        "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(),
                        .. extraArguments ?? [],
                    ],
                    workingDirectory: RepoPaths.Root,
                    logPath: Path.Combine(_dataDirectory, "azurite.log")));
            },
            process => WaitUntilReadyAsync(process, cancellationToken),
            log => $"Azurite did not answer on 127.0.0.1:{BlobPort} within {ReadyTimeout.TotalSeconds} s. Log:\n{log}");
    }

    private async Task<bool> WaitUntilReadyAsync(ServiceProcess process, CancellationToken cancellationToken)
    {
        // Any HTTP answer from the blob endpoint (an unsigned request gets 403) means it is serving.
        using var http = new HttpClient(CreateHandler()) { Timeout = TimeSpan.FromSeconds(2) };
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
                using var response = await http.GetAsync(new Uri(BlobEndpoint + "?comp=list"), cancellationToken);
                return true;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            await Task.Delay(100, cancellationToken);
        }
        return false;
    }

    private static async Task<AzuriteFixture> StartSharedAsync()
    {
        var fixture = await StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => fixture.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(8));
        return fixture;
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static InvalidOperationException NotStarted() => new("Azurite is not started.");
}
