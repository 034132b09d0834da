using Microsoft.Extensions.Logging;
using ActivityWorkItem = DurableTask.Core.TaskActivityWorkItem;
using ContinueAsNewBehavior = DurableTask.Core.BehaviorOnContinueAsNew;
using IOrchestrationService = DurableTask.Core.IOrchestrationService;
using OrchestrationState = DurableTask.Core.OrchestrationState;
using OrchestrationWorkItem = DurableTask.Core.TaskOrchestrationWorkItem;
using RuntimeState = DurableTask.Core.OrchestrationRuntimeState;
using TaskMessage = DurableTask.Core.TaskMessage;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// An orchestration service that forwards everything to another one and, in addition, renews the
/// queue locks of the work items it hands out while they run.
/// </summary>
/// <remarks>
/// With the storage backend, an activity or orchestrator step that runs longer than its visibility
/// timeout becomes visible again and is delivered a second time while the first run continues.
/// DurableTask.Core's dispatchers renew too, but on their own schedule, tuned for locks of minutes
/// (from 30 s before a lock lapses). Renewing every held work item every third of its timeout,
/// whatever the timeout, lets the timeouts stay short, which is what makes recovery after a crash
/// quick: a lock held by a dead process lapses within one timeout. On a clean stop, work items
/// still held are handed back so the next start runs them at once.
/// </remarks>
public sealed class LockRenewingOrchestrationService : IOrchestrationService
{
    private readonly IOrchestrationService _inner;
    private readonly TimeSpan _activityRenewInterval;
    private readonly TimeSpan _orchestrationRenewInterval;
    private readonly WorkItemLockRegistry _locks;
    private readonly Lock _stopLock = new();
    private Task? _stopTask;
    private int _started;

    /// <summary>Wraps <paramref name="inner"/>; intervals are a third of the given lock timeouts.</summary>
    public LockRenewingOrchestrationService(
        IOrchestrationService inner,
        TimeSpan activityLockTimeout,
        TimeSpan orchestrationLockTimeout,
        ILogger<LockRenewingOrchestrationService> logger)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(logger);
        _inner = inner;
        _activityRenewInterval = activityLockTimeout / 3;
        _orchestrationRenewInterval = orchestrationLockTimeout / 3;
        _locks = new WorkItemLockRegistry(logger);
    }

    /// <summary>Number of work items whose locks are currently being renewed (for diagnostics).</summary>
    public int RenewingCount => _locks.Count;

    /// <inheritdoc />
    public int TaskOrchestrationDispatcherCount => _inner.TaskOrchestrationDispatcherCount;
    /// <inheritdoc />
    public int MaxConcurrentTaskOrchestrationWorkItems => _inner.MaxConcurrentTaskOrchestrationWorkItems;
    /// <inheritdoc />
    public ContinueAsNewBehavior EventBehaviourForContinueAsNew => _inner.EventBehaviourForContinueAsNew;
    /// <inheritdoc />
    public int TaskActivityDispatcherCount => _inner.TaskActivityDispatcherCount;
    /// <inheritdoc />
    public int MaxConcurrentTaskActivityWorkItems => _inner.MaxConcurrentTaskActivityWorkItems;

    /// <inheritdoc />
    public async Task StartAsync()
    {
        await _inner.StartAsync().ConfigureAwait(false);
        Volatile.Write(ref _started, 1);
    }

    /// <inheritdoc />
    public Task StopAsync() => StopAsync(isForced: false);

    /// <summary>
    /// Stops every renewal and hands unfinished work items back, then stops the inner service if it
    /// was started. Runs once: both the worker and the host that owns the backend call
    /// it on shutdown, and every caller awaits the same stop, so none disposes the inner service
    /// while it is still stopping.
    /// </summary>
    public Task StopAsync(bool isForced)
    {
        lock (_stopLock)
        {
            return _stopTask ??= StopOnceAsync(isForced);
        }
    }

    /// <inheritdoc />
    public Task CreateAsync() => _inner.CreateAsync();
    /// <inheritdoc />
    public Task CreateAsync(bool recreateInstanceStore) => _inner.CreateAsync(recreateInstanceStore);
    /// <inheritdoc />
    public Task CreateIfNotExistsAsync() => _inner.CreateIfNotExistsAsync();
    /// <inheritdoc />
    public Task DeleteAsync() => _inner.DeleteAsync();
    /// <inheritdoc />
    public Task DeleteAsync(bool deleteInstanceStore) => _inner.DeleteAsync(deleteInstanceStore);

    /// <inheritdoc />
    public bool IsMaxMessageCountExceeded(int currentMessageCount, RuntimeState runtimeState) =>
        _inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);
    /// <inheritdoc />
    public int GetDelayInSecondsAfterOnProcessException(Exception exception) =>
        _inner.GetDelayInSecondsAfterOnProcessException(exception);
    /// <inheritdoc />
    public int GetDelayInSecondsAfterOnFetchException(Exception exception) =>
        _inner.GetDelayInSecondsAfterOnFetchException(exception);

    /// <inheritdoc />
    public async Task<OrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(
        TimeSpan receiveTimeout,
        CancellationToken cancellationToken) =>
        (await _locks.TrackAsync(
            await _inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken).ConfigureAwait(false),
            workItem => $"orchestration {workItem.InstanceId}",
            _orchestrationRenewInterval,
            workItem => _inner.RenewTaskOrchestrationWorkItemLockAsync(workItem),
            async workItem =>
            {
                await _inner.AbandonTaskOrchestrationWorkItemAsync(workItem).ConfigureAwait(false);
                await _inner.ReleaseTaskOrchestrationWorkItemAsync(workItem).ConfigureAwait(false);
            }).ConfigureAwait(false))!;

    /// <inheritdoc />
    public Task RenewTaskOrchestrationWorkItemLockAsync(OrchestrationWorkItem workItem) =>
        _locks.RunExclusiveAsync(workItem, () => _inner.RenewTaskOrchestrationWorkItemLockAsync(workItem));

    /// <inheritdoc />
    public Task CompleteTaskOrchestrationWorkItemAsync(
        OrchestrationWorkItem workItem,
        RuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState)
    {
        return _locks.FinishAsync(workItem, () => _inner.CompleteTaskOrchestrationWorkItemAsync(
            workItem,
            newOrchestrationRuntimeState,
            outboundMessages,
            orchestratorMessages,
            timerMessages,
            continuedAsNewMessage,
            orchestrationState));
    }

    /// <inheritdoc />
    public Task AbandonTaskOrchestrationWorkItemAsync(OrchestrationWorkItem workItem) =>
        _locks.FinishAsync(workItem, () => _inner.AbandonTaskOrchestrationWorkItemAsync(workItem));

    /// <inheritdoc />
    public Task ReleaseTaskOrchestrationWorkItemAsync(OrchestrationWorkItem workItem) =>
        _locks.FinishAsync(workItem, () => _inner.ReleaseTaskOrchestrationWorkItemAsync(workItem));

    /// <inheritdoc />
    public async Task<ActivityWorkItem> LockNextTaskActivityWorkItem(
        TimeSpan receiveTimeout,
        CancellationToken cancellationToken) =>
        (await _locks.TrackAsync(
            await _inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken).ConfigureAwait(false),
            workItem => $"activity {workItem.Id} of {workItem.TaskMessage?.OrchestrationInstance?.InstanceId}",
            _activityRenewInterval,
            workItem => _inner.RenewTaskActivityWorkItemLockAsync(workItem),
            workItem => _inner.AbandonTaskActivityWorkItemAsync(workItem)).ConfigureAwait(false))!;

    /// <inheritdoc />
    public async Task<ActivityWorkItem> RenewTaskActivityWorkItemLockAsync(ActivityWorkItem workItem)
    {
        ActivityWorkItem renewed = workItem;
        await _locks.RunExclusiveAsync(workItem, async () =>
            renewed = await _inner.RenewTaskActivityWorkItemLockAsync(workItem).ConfigureAwait(false))
            .ConfigureAwait(false);
        return renewed;
    }

    /// <inheritdoc />
    public Task CompleteTaskActivityWorkItemAsync(ActivityWorkItem workItem, TaskMessage responseMessage) =>
        _locks.FinishAsync(workItem, () => _inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage));

    /// <inheritdoc />
    public Task AbandonTaskActivityWorkItemAsync(ActivityWorkItem workItem) =>
        _locks.FinishAsync(workItem, () => _inner.AbandonTaskActivityWorkItemAsync(workItem));

    private async Task StopOnceAsync(bool isForced)
    {
        await _locks.StopAsync().ConfigureAwait(false);

        // The worker starts the inner service when it starts; if it never did (the host stopped
        // first, or the worker's start failed), stopping the inner service would fail.
        if (Volatile.Read(ref _started) == 1)
        {
            await _inner.StopAsync(isForced).ConfigureAwait(false);
        }
    }
}
