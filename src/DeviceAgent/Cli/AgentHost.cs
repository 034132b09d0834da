using System.Net;
using System.Text.Json;
using DeviceAgent.Api;
using DeviceAgent.Messages;
using DeviceAgent.Progress;
using DeviceAgent.Rounds;
using DeviceAgent.Store;

namespace DeviceAgent.Cli;

/// <summary>
/// The agent put together from its settings: one store, one API client with the device key, one
/// HTTP client for blob URLs (which never carries the key), and the round. <see cref="OnceAsync"/>
/// and <see cref="RunAsync"/> both start by checking every blob in the store.
/// </summary>
internal sealed class AgentHost : IDisposable
{
    private static readonly string UserAgent = "pipeline-agent/" + (typeof(AgentHost).Assembly.GetName().Version?.ToString(3) ?? "0");

    private readonly AgentSettings _settings;
    private readonly AgentLog _log;
    private readonly ContentStore _store;
    private readonly HttpClient _apiHttp;
    private readonly HttpClient _blobHttp;
    private readonly DeviceApiClient _api;
    private readonly RoundRunner _rounds;

    public AgentHost(AgentSettings settings, KeyFile key, AgentLog log)
    {
        _settings = settings;
        _log = log;
        _store = ContentStore.Open(settings.StoreDirectory);
        _apiHttp = NewClient(maxResponseBytes: 16 * 1024 * 1024);
        _blobHttp = NewClient(maxResponseBytes: null);
        _api = new DeviceApiClient(_apiHttp, settings.Api, settings.DeviceId, key.Read);
        var policy = DownloadPolicy.Default with { MaxAttempts = settings.DownloadAttempts, StallTimeout = settings.StallTimeout };
        var instances = new InstanceStore(_store);
        var updater = new InstanceUpdater(
            _api, _store, instances,
            new BlobDownloader(_blobHttp, _store, policy),
            new SmallBlobFetcher(_blobHttp, policy),
            new HealthCheck(settings.HealthCommand, settings.HealthTimeout),
            log,
            settings.MinFreeBytes,
            settings.UseChunks ? new ChunkedLayerDownloader(_blobHttp, _store, policy) : null,
            settings.UseChunks ? new LayerIndexer(_store, log) : null);
        _rounds = new RoundRunner(_api, _store, instances, updater, log);
    }

    /// <summary>One round; 0 when every enabled instance runs its target version, verified and healthy.</summary>
    public async Task<int> OnceAsync(CancellationToken cancellationToken)
    {
        var damaged = await VerifyStoreAsync(cancellationToken).ConfigureAwait(false);
        var result = await _rounds.RunAsync(null, damaged, cancellationToken).ConfigureAwait(false);
        await WriteReportAsync(result).ConfigureAwait(false);
        if (!result.Ok)
        {
            _log.Error(result.Reason ?? "the round did not finish");
            return ExitCodes.NotSatisfied;
        }
        _log.Info($"every instance runs its target version ({result.Instances.Count} instance(s), {DiskSpace.Format(result.BytesDownloaded)} downloaded)");
        return ExitCodes.Ok;
    }

    /// <summary>Rounds until cancelled (SIGTERM, Ctrl+C), woken early by deployment messages when configured.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var damaged = await VerifyStoreAsync(cancellationToken).ConfigureAwait(false);
        var wakers = new List<IMessageWaker>();
        if (!string.IsNullOrWhiteSpace(_settings.QueueConnectionString))
        {
            wakers.Add(QueueWaker.Create(_settings.QueueConnectionString, _settings.DeviceId, _log));
        }
        if (!string.IsNullOrWhiteSpace(_settings.ServiceBusNamespace) || !string.IsNullOrWhiteSpace(_settings.ServiceBusConnectionString))
        {
            wakers.Add(ServiceBusWaker.Create(_settings.ServiceBusNamespace, _settings.ServiceBusConnectionString, _settings.Subscription!, _settings.DeviceId, _log));
        }
        try
        {
            var loop = new AgentLoop(_api, _rounds, new WakeSignal(), wakers, _settings.PollInterval, _log, WriteReportAsync);
            await loop.RunAsync(damaged, cancellationToken).ConfigureAwait(false);
            _log.Info("stopped; a download in progress resumes from its partial on the next start");
        }
        finally
        {
            foreach (var waker in wakers)
            {
                await waker.DisposeAsync().ConfigureAwait(false);
            }
        }
        return ExitCodes.Ok;
    }

    public void Dispose()
    {
        _apiHttp.Dispose();
        _blobHttp.Dispose();
        _store.Dispose();
    }

    private async Task<IReadOnlyList<string>> VerifyStoreAsync(CancellationToken cancellationToken)
    {
        var removed = await _store.VerifyAllAsync(cancellationToken).ConfigureAwait(false);
        foreach (string damage in removed)
        {
            _log.Warn($"damaged blob removed from the store: {damage}; it will be downloaded again");
        }
        return removed;
    }

    /// <summary><c>--report-json</c>: the last round, written whole (a temporary file renamed over the old one).</summary>
    private async Task WriteReportAsync(RoundResult result)
    {
        if (_settings.ReportJson is not { } path)
        {
            return;
        }
        string temporary = path + ".tmp";
        try
        {
            await File.WriteAllBytesAsync(temporary, JsonSerializer.SerializeToUtf8Bytes(result, AgentJsonContext.Default.RoundResult)).ConfigureAwait(false);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warn($"could not write --report-json {path}: {e.Message}");
        }
    }

    private static HttpClient NewClient(long? maxResponseBytes)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(15),
            // Long-lived agents follow DNS changes (a CDN moving) instead of keeping one connection forever.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
        };
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        if (maxResponseBytes is { } max)
        {
            client.MaxResponseContentBufferSize = max;
        }
        client.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        return client;
    }
}
