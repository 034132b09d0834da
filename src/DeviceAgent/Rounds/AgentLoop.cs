using DeviceAgent.Api;
using DeviceAgent.Messages;
using DeviceAgent.Progress;

namespace DeviceAgent.Rounds;

/// <summary>
/// <c>run</c>: a round at start, then the target polled every poll interval (give or take a fifth,
/// so a fleet rebooted together does not poll in step) with <c>If-None-Match</c>; a 304 means
/// nothing to do. A deployment message wakes the loop at once for a full round, and is settled
/// after it. A failed round is tried again sooner (5 s, doubling, at most the poll interval)
/// whatever the target says.
/// </summary>
internal sealed class AgentLoop(
    DeviceApiClient api,
    RoundRunner rounds,
    WakeSignal signal,
    IReadOnlyList<IMessageWaker> wakers,
    TimeSpan pollInterval,
    AgentLog log,
    Func<RoundResult, Task> roundFinished)
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(5);

    public async Task RunAsync(IReadOnlyList<string> damagedBlobsRemoved, CancellationToken cancellationToken)
    {
        using var stopWakers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = wakers.Select(w => Task.Run(() => w.RunAsync(signal, stopWakers.Token), CancellationToken.None)).ToList();
        string? etag = null;
        bool first = true, lastOk = false, woken = false;
        int failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var completions = signal.TakePending();
                bool mustRun = first || woken || !lastOk;
                TargetResponse? target = null;
                try
                {
                    var answer = await api.GetTargetAsync(mustRun ? null : etag, cancellationToken).ConfigureAwait(false);
                    if (!answer.NotModified)
                    {
                        target = answer.Target;
                        etag = answer.ETag;
                    }
                }
                catch (Exception e) when (e is DeviceApiException or HttpRequestException or TimeoutException && !cancellationToken.IsCancellationRequested)
                {
                    log.Warn($"could not read the target: {e.Message}");
                    signal.Return(completions);
                    completions = [];
                    lastOk = false;
                    failures++;
                }
                if (target is not null)
                {
                    try
                    {
                        var result = await rounds.RunAsync(target, first ? damagedBlobsRemoved : [], cancellationToken).ConfigureAwait(false);
                        lastOk = result.Ok;
                        if (!result.Ok)
                        {
                            log.Warn($"round not finished: {result.Reason}");
                        }
                        await roundFinished(result).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        // A fault of this agent must not stop the device from ever updating again: try later.
                        log.Error($"the round failed unexpectedly: {e}");
                        lastOk = false;
                    }
                    first = false;
                    failures = lastOk ? 0 : failures + 1;
                }
                foreach (var complete in completions)
                {
                    await SettleAsync(complete).ConfigureAwait(false);
                }
                woken = await signal.WaitAsync(NextWait(lastOk, failures), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // SIGTERM or Ctrl+C: stop between (or in the middle of) rounds; partials resume next start.
        }
        finally
        {
            await stopWakers.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(receiving).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
            {
            }
        }
    }

    private TimeSpan NextWait(bool lastOk, int failures)
    {
        var poll = pollInterval * (0.8 + (0.4 * Random.Shared.NextDouble()));
        if (lastOk)
        {
            return poll;
        }
        var retry = FirstRetry * Math.Pow(2, Math.Min(10, Math.Max(0, failures - 1)));
        return retry < poll ? retry : poll;
    }

    private async Task SettleAsync(Func<Task> complete)
    {
        try
        {
            await complete().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.Warn($"could not settle a deployment message: {e.Message.Split('\n')[0]}");
        }
    }
}
