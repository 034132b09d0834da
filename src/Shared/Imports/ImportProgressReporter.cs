using System.Collections.Concurrent;
using Pipeline.Oci;

namespace Pipeline.Imports;

/// <summary>
/// Collects bytes copied per blob from concurrent writers and writes them to the import's
/// progress rows at most once a second, so progress costs a few table writes, not one per block.
/// </summary>
public sealed class ImportProgressReporter : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly ImportStore _store;
    private readonly string _importId;
    private readonly ConcurrentDictionary<Digest, Counter> _counters = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ImportProgressReporter(ImportStore store, string importId)
    {
        _store = store;
        _importId = importId;
        _loop = RunAsync();
    }

    /// <summary>A callback adding bytes to a blob's count.</summary>
    public Action<long> Track(Digest digest)
    {
        var counter = _counters.GetOrAdd(digest, _ => new Counter());
        Interlocked.Exchange(ref counter.Done, 0);
        return n => Interlocked.Add(ref counter.Done, n);
    }

    /// <summary>Marks a blob complete (present already, or just stored).</summary>
    public void Complete(Digest digest, long size) => Interlocked.Exchange(ref _counters.GetOrAdd(digest, _ => new Counter()).Done, size);

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var (digest, counter) in _counters)
        {
            long done = Interlocked.Read(ref counter.Done);
            if (done != counter.Written)
            {
                await _store.ReportBlobProgressAsync(_importId, digest, done, cancellationToken).ConfigureAwait(false);
                counter.Written = done;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await FlushAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Progress is informational: a failed write is retried on the next tick.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class Counter
    {
        public long Done;
        public long Written = -1;
    }
}
