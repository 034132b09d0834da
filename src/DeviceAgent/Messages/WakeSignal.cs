namespace DeviceAgent.Messages;

/// <summary>
/// How message receivers wake the run loop early. Each wake may carry a completion (delete the
/// queue message, complete the Service Bus message) that runs once a round has started after the
/// wake and finished: a message is settled only after the agent acted on it.
/// </summary>
internal sealed class WakeSignal
{
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Lock _gate = new();
    private List<Func<Task>> _pending = [];

    /// <summary>Wakes the loop; <paramref name="complete"/> runs after the next round.</summary>
    public void Wake(Func<Task>? complete)
    {
        lock (_gate)
        {
            if (complete is not null)
            {
                _pending.Add(complete);
            }
        }
        _signal.Release();
    }

    /// <summary>Waits up to <paramref name="timeout"/>; true when woken. Extra wakes meanwhile fold into this one.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        bool woken = await _signal.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        while (_signal.CurrentCount > 0 && _signal.Wait(0))
        {
        }
        return woken;
    }

    /// <summary>Takes the completions of the wakes so far: call before a round, run them after it.</summary>
    public IReadOnlyList<Func<Task>> TakePending()
    {
        lock (_gate)
        {
            var taken = _pending;
            _pending = [];
            return taken;
        }
    }

    /// <summary>Gives back completions taken for a round that could not run: they wait for the next one.</summary>
    public void Return(IReadOnlyList<Func<Task>> completions)
    {
        lock (_gate)
        {
            _pending.InsertRange(0, completions);
        }
    }
}
