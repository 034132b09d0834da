using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// The work items currently handed out by the backend, each with its lock renewal, keyed by the
/// work item object itself (the dispatcher passes the same instance back to complete it).
/// </summary>
internal sealed class WorkItemLockRegistry
{
    private static readonly TimeSpan AbandonTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<object, WorkItemLockRenewal> _renewals = new(ReferenceEqualityComparer.Instance);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;

    public WorkItemLockRegistry(ILogger logger) => _logger = logger;

    /// <summary>Number of work items whose locks are being renewed.</summary>
    public int Count => _renewals.Count;

    /// <summary>
    /// Starts renewing the lock of a freshly locked work item. Returns <c>null</c> for <c>null</c>
    /// (the backend is shutting down) and also when the registry is already stopping, in which case
    /// the work item is handed straight back.
    /// </summary>
    public async Task<T?> TrackAsync<T>(
        T? workItem,
        Func<T, string> describe,
        TimeSpan interval,
        Func<T, Task> renew,
        Func<T, Task> abandon)
        where T : class
    {
        if (workItem is null)
        {
            return null;
        }

        WorkItemLockRenewal renewal = WorkItemLockRenewal.Start(
            describe(workItem), interval, () => renew(workItem), () => abandon(workItem), _logger, _stopping.Token);
        _renewals[workItem] = renewal;

        // Checked after adding, so a concurrent StopAsync either sees the entry or this sees the stop.
        if (_stopping.IsCancellationRequested && _renewals.TryRemove(workItem, out _))
        {
            await renewal.AbandonAsync().ConfigureAwait(false);
            return null;
        }

        return workItem;
    }

    /// <summary>Runs a renewal the dispatcher asked for itself without overlapping a timed one.</summary>
    public Task RunExclusiveAsync(object workItem, Func<Task> action) =>
        _renewals.TryGetValue(workItem, out WorkItemLockRenewal? renewal) ? renewal.RunExclusiveAsync(action) : action();

    /// <summary>Stops renewing (waiting out a renewal in flight), then completes, abandons or releases.</summary>
    public Task FinishAsync(object workItem, Func<Task> action) =>
        _renewals.TryRemove(workItem, out WorkItemLockRenewal? renewal) ? renewal.FinishAsync(action) : action();

    /// <summary>
    /// Stops all renewals and hands every unfinished work item back. Only called once the worker has
    /// disconnected, so nothing would ever complete them.
    /// </summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);

        var abandons = new List<Task>();
        foreach (object workItem in _renewals.Keys)
        {
            if (_renewals.TryRemove(workItem, out WorkItemLockRenewal? renewal))
            {
                abandons.Add(renewal.AbandonAsync());
            }
        }

        try
        {
            await Task.WhenAll(abandons).WaitAsync(AbandonTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("Handing running work items back took longer than {Timeout}; their locks will lapse.", AbandonTimeout);
        }
    }
}
