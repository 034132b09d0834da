using System.Net;
using DurableTask.AzureStorage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using IOrchestrationService = DurableTask.Core.IOrchestrationService;
using IOrchestrationServiceClient = DurableTask.Core.IOrchestrationServiceClient;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// Runs the Durable Task gRPC sidecar in a small Kestrel host of its own on 127.0.0.1, backed by
/// the Azure Storage orchestration service, so orchestrations persist across restarts.
/// </summary>
/// <remarks>
/// The sidecar gets its own host rather than endpoints in the application's: it must speak
/// plain-text HTTP/2 (h2c) on loopback only, and it must be listening before the durable worker
/// starts. Register it before the worker; hosted services start in registration order and stop in
/// reverse, so the worker disconnects before the sidecar and its storage service go away.
/// </remarks>
public sealed class LocalDurableSidecar : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan SidecarShutdownTimeout = TimeSpan.FromSeconds(5);

    private readonly LocalDurableOptions _options;
    private readonly LocalDurableEndpoint _endpoint;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private AzureStorageOrchestrationService? _storage;
    private LockRenewingOrchestrationService? _service;
    private WebApplication? _app;

    /// <summary>Creates the sidecar; nothing touches storage or the network until started.</summary>
    public LocalDurableSidecar(LocalDurableOptions options, LocalDurableEndpoint endpoint, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _endpoint = endpoint;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<LocalDurableSidecar>();
    }

    /// <summary>The orchestration service the sidecar dispatches from, once started (for diagnostics).</summary>
    public LockRenewingOrchestrationService? Service => _service;

    /// <summary>Creates the task hub if needed, then starts listening.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _storage = new AzureStorageOrchestrationService(CreateSettings());

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

        _service = new LockRenewingOrchestrationService(
            _storage,
            _options.WorkItemVisibilityTimeout,
            _options.ControlQueueVisibilityTimeout,
            _loggerFactory.CreateLogger<LockRenewingOrchestrationService>());

        _app = BuildSidecarHost(_service, _storage);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogInformation(
            "Durable sidecar listening on {Address} (task hub {TaskHub}, worker {WorkerId}).",
            _endpoint.Address,
            _options.TaskHubName,
            _options.WorkerId);
    }

    /// <summary>
    /// Stops listening, stops the storage service (releasing its partition lease) and disposes both.
    /// Work items still running are not renewed any more; they run again after the next start.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_service is not null)
        {
            // Forced: sessions of a worker that already disconnected would otherwise never drain.
            await _service.StopAsync(isForced: true).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
        _logger.LogInformation("Durable sidecar stopped.");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        WebApplication? app = Interlocked.Exchange(ref _app, null);
        if (app is not null)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }

        Interlocked.Exchange(ref _storage, null)?.Dispose();
    }

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

    private WebApplication BuildSidecarHost(IOrchestrationService service, IOrchestrationServiceClient client)
    {
        // The empty builder reads no configuration, so the application's URLs, environment and
        // logging settings cannot leak into the sidecar.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, _endpoint.Port, listen => listen.Protocols = HttpProtocols.Http2));

        // Share the application's logging; an instance registration is not disposed by this host.
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = SidecarShutdownTimeout);
        builder.Services.AddRouting();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        builder.Services.AddSingleton(client);
        builder.Services.AddSingleton<TaskHubGrpcServer>();

        WebApplication app = builder.Build();
        app.MapGrpcService<TaskHubGrpcServer>();
        return app;
    }
}
