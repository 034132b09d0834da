using DurableTask.AzureStorage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// The durable backend of LocalHost: the Azure Storage orchestration service (queues, tables and
/// blobs of one task hub, on Azurite locally), wrapped so that running work items keep their
/// locks, so orchestrations persist across restarts and a crash is recovered within one lock
/// timeout. <see cref="InProcessDurableWorker"/> dispatches from it and
/// <see cref="InProcessDurableClient"/> starts and reads orchestrations through it.
/// </summary>
/// <remarks>
/// Register it before the worker: hosted services start in registration order and stop in
/// reverse, so the task hub exists before the worker polls it, and the worker has stopped before
/// the service goes away.
/// </remarks>
public sealed class LocalDurableBackend : IHostedService, IDisposable
{
    private readonly LocalDurableOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly AzureStorageOrchestrationService _storage;

    /// <summary>Creates the backend; nothing touches storage until started.</summary>
    public LocalDurableBackend(LocalDurableOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<LocalDurableBackend>();
        _storage = new AzureStorageOrchestrationService(CreateSettings());
        Service = new LockRenewingOrchestrationService(
            _storage,
            _options.WorkItemVisibilityTimeout,
            _options.ControlQueueVisibilityTimeout,
            _loggerFactory.CreateLogger<LockRenewingOrchestrationService>());
    }

    /// <summary>The orchestration service the worker dispatches from.</summary>
    public LockRenewingOrchestrationService Service { get; }

    /// <summary>The storage service as a client: starts, reads, signals and purges instances.</summary>
    public AzureStorageOrchestrationService Client => _storage;

    /// <summary>Creates the task hub if needed.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Creates the hub's queues, tables and containers on first use; a no-op afterwards.
            await _storage.CreateIfNotExistsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The connection string holds an account key, so it stays out of the message.
            throw new InvalidOperationException(
                $"Could not create the durable task hub '{_options.TaskHubName}'. Is the storage emulator " +
                $"running, and does {LocalDurableOptions.ConnectionStringKey} point at it?",
                ex);
        }
        _logger.LogInformation("Durable backend ready (task hub {TaskHub}, worker {WorkerId}).", _options.TaskHubName, _options.WorkerId);
    }

    /// <summary>
    /// Stops the storage service (releasing its partition lease), if the worker has not already.
    /// Work items still running are not renewed any more; they run again after the next start.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Forced: sessions of a worker that already stopped would otherwise never drain.
        await Service.StopAsync(isForced: true).WaitAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Durable backend stopped.");
    }

    /// <inheritdoc />
    public void Dispose() => _storage.Dispose();

    private AzureStorageOrchestrationServiceSettings CreateSettings() => new()
    {
        TaskHubName = _options.TaskHubName,
        StorageAccountClientProvider = new StorageAccountClientProvider(_options.StorageConnectionString),
        PartitionCount = 1,
        MaxQueuePollingInterval = _options.MaxQueuePollingInterval,
        WorkerId = _options.WorkerId,
        WorkItemQueueVisibilityTimeout = _options.WorkItemVisibilityTimeout,
        ControlQueueVisibilityTimeout = _options.ControlQueueVisibilityTimeout,
        LoggerFactory = _loggerFactory,
    };
}
