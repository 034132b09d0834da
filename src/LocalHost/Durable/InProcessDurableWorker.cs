using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Hosting;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using CoreTaskActivity = DurableTask.Core.TaskActivity;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// The durable worker of LocalHost: DurableTask.Core's own dispatchers (<see cref="TaskHubWorker"/>)
/// run the pipeline's orchestrators and activities in this process, straight on the storage
/// backend of <see cref="LocalDurableBackend"/>, through the SDK's shims (the same classes the
/// Functions app runs).
/// </summary>
/// <remarks>
/// Orchestrator steps are replayed with failure details propagated, as the SDK's workers do, so an
/// orchestrator's <c>TaskFailedException.FailureDetails</c> carries the activity's error type and
/// message. Each activity gets a service scope of its own for its run.
/// </remarks>
public sealed class InProcessDurableWorker : DurableTaskWorker
{
    private readonly LocalDurableBackend _backend;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly DurableTaskShimFactory _shims;

    /// <summary>Created by the worker builder (<c>UseBuildTarget</c>) with its name and task factory.</summary>
    public InProcessDurableWorker(
        string? name,
        IDurableTaskFactory factory,
        IOptionsMonitor<DurableTaskWorkerOptions> options,
        LocalDurableBackend backend,
        IServiceProvider services,
        ILoggerFactory loggerFactory)
        : base(name, factory)
    {
        ArgumentNullException.ThrowIfNull(options);
        _backend = backend;
        _services = services;
        _loggerFactory = loggerFactory;
        _shims = new DurableTaskShimFactory(options.Get(name ?? Options.DefaultName), loggerFactory);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var worker = new TaskHubWorker(
            _backend.Service,
            new Orchestrations(this),
            new Activities(this),
            _loggerFactory)
        {
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
        await worker.StartAsync().ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        // Forced: work items still held go back to their queues for the next start.
        await worker.StopAsync(isForced: true).ConfigureAwait(false);
    }

    /// <summary>Orchestrators by name, each wrapped for DurableTask.Core.</summary>
    private sealed class Orchestrations(InProcessDurableWorker worker) : INameVersionObjectManager<TaskOrchestration>
    {
        public void Add(ObjectCreator<TaskOrchestration> creator) =>
            throw new NotSupportedException("Orchestrators are registered on the DurableTaskRegistry.");

        public TaskOrchestration? GetObject(string name, string? version)
        {
            var taskName = new TaskName(name);
            // Orchestrators take no services (they are replayed, deterministic code), so the root
            // provider serves; a scope could not outlive this call anyway. DurableTask.Core asks by
            // name and version only, so the shim knows no parent: a sub-orchestration's
            // context.Parent is null here (no orchestration of the pipeline is one today).
            return worker.Factory.TryCreateOrchestrator(taskName, worker._services, out ITaskOrchestrator? orchestrator)
                ? worker._shims.CreateOrchestration(taskName, orchestrator, parent: null)
                : null;
        }
    }

    /// <summary>Activities by name, each in a service scope that ends with its run.</summary>
    private sealed class Activities(InProcessDurableWorker worker) : INameVersionObjectManager<CoreTaskActivity>
    {
        public void Add(ObjectCreator<CoreTaskActivity> creator) =>
            throw new NotSupportedException("Activities are registered on the DurableTaskRegistry.");

        public CoreTaskActivity? GetObject(string name, string? version)
        {
            var taskName = new TaskName(name);
            AsyncServiceScope scope = worker._services.CreateAsyncScope();
            if (!worker.Factory.TryCreateActivity(taskName, scope.ServiceProvider, out ITaskActivity? activity))
            {
                scope.Dispose();
                return null;
            }
            return new ScopedActivity(worker._shims.CreateActivity(taskName, activity), scope);
        }
    }

    /// <summary>An activity that disposes its service scope once it has run.</summary>
    private sealed class ScopedActivity(CoreTaskActivity inner, AsyncServiceScope scope) : CoreTaskActivity
    {
        public override string Run(TaskContext context, string input) =>
            throw new NotSupportedException("Activities run asynchronously.");

        public override async Task<string> RunAsync(TaskContext context, string input)
        {
            try
            {
                return await inner.RunAsync(context, input).ConfigureAwait(false);
            }
            finally
            {
                await scope.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
