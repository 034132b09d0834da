using Microsoft.Extensions.Logging;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// Keeps the queue lock of one running work item alive by renewing it on a fixed interval until
/// the work item is completed, abandoned or the backend stops, and knows how to hand it back.
/// </summary>
/// <remarks>
/// Renewing a queue message changes its pop receipt, and completing or abandoning it needs the
/// current one, so renewal and the finishing call never overlap: both go through one gate, and
/// once the work item is finished no renewal runs again.
/// </remarks>
internal sealed class WorkItemLockRenewal
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop;
    private readonly CancellationToken _stopToken;
    private readonly string _description;
    private readonly Func<Task> _abandon;
    private readonly ILogger _logger;
    private bool _finished;

    private WorkItemLockRenewal(string description, Func<Task> abandon, CancellationToken backendStopping, ILogger logger)
    {
        _description = description;
        _abandon = abandon;
        _logger = logger;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(backendStopping);
        _stopToken = _stop.Token;
    }

    /// <summary>
    /// Starts renewing every <paramref name="interval"/> with <paramref name="renew"/>;
    /// <paramref name="abandon"/> hands the work item back when the backend stops before it finishes.
    /// </summary>
    public static WorkItemLockRenewal Start(
        string description,
        TimeSpan interval,
        Func<Task> renew,
        Func<Task> abandon,
        ILogger logger,
        CancellationToken backendStopping)
    {
        var renewal = new WorkItemLockRenewal(description, abandon, backendStopping, logger);
        _ = Task.Run(() => renewal.RunAsync(interval, renew), CancellationToken.None);
        return renewal;
    }

    /// <summary>
    /// Runs <paramref name="action"/> (a renewal the dispatcher asked for itself) without letting a
    /// timed renewal or the finishing call run at the same time.
    /// </summary>
    public async Task RunExclusiveAsync(Func<Task> action)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await action().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Stops renewing, then runs <paramref name="action"/> (complete, abandon or release) after any
    /// renewal in flight has finished, so the action sees the latest lock.
    /// </summary>
    public async Task FinishAsync(Func<Task> action)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            StopUnderGate();
            await action().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Hands the work item back to the queue so the next start runs it at once instead of after a
    /// visibility timeout. Failures are only logged: the lock then simply lapses.
    /// </summary>
    public async Task AbandonAsync()
    {
        try
        {
            await FinishAsync(_abandon).ConfigureAwait(false);
            _logger.LogInformation("Handed {WorkItem} back to the queue.", _description);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not hand {WorkItem} back; it runs again after its lock lapses.", _description);
        }
    }

    private void StopUnderGate()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        _stop.Cancel();

        // The timer loop holds only the token, which stays cancelled after disposal.
        _stop.Dispose();
    }

    private async Task RunAsync(TimeSpan interval, Func<Task> renew)
    {
        CancellationToken token = _stopToken;
        try
        {
            using var timer = new PeriodicTimer(interval);
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                await _gate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    if (_finished)
                    {
                        return;
                    }

                    await renew().ConfigureAwait(false);
                    _logger.LogDebug("Renewed the lock of {WorkItem}.", _description);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Keep trying: a transient storage error must not let the lock lapse for good.
                    _logger.LogWarning(ex, "Could not renew the lock of {WorkItem}; retrying next interval.", _description);
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Finished, or the backend is stopping: the lock is no longer ours to keep.
        }
    }
}
