namespace DeviceAgent.Store;

/// <summary>
/// How hard the downloader tries: <see cref="MaxAttempts"/> tries in a row that make no headway
/// (a try that moves the partial on by a buffer or more starts the count again, so a link that
/// drops every few megabytes still finishes a large blob), waiting <see cref="FirstBackoff"/>
/// doubled after each; a connection that carries no byte for <see cref="StallTimeout"/> counts as
/// dropped.
/// </summary>
internal sealed record DownloadPolicy(int MaxAttempts, TimeSpan FirstBackoff, TimeSpan StallTimeout)
{
    public const int BufferBytes = 64 * 1024;

    /// <summary>The longest pause between tries, and the longest <c>Retry-After</c> honoured.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    public static DownloadPolicy Default { get; } = new(6, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(30));

    /// <summary>
    /// One read of a download's body under the stall guard: the guard is re-armed before the
    /// read, and a read that gets no byte for <see cref="StallTimeout"/> becomes a
    /// <see cref="TimeoutException"/> naming <paramref name="what"/> (a dropped link, retried by
    /// the caller), unlike a cancellation of the caller's own.
    /// </summary>
    public async ValueTask<int> ReadAsync(Stream body, Memory<byte> buffer, CancellationTokenSource stall, string what, CancellationToken cancellationToken)
    {
        stall.CancelAfter(StallTimeout);
        try
        {
            return await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no byte {what}arrived for {StallTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>
    /// The failed tries in a row after one more that moved the download on by
    /// <paramref name="headway"/> bytes: a buffer or more of headway starts the count again, so
    /// only tries that get nowhere use up <see cref="MaxAttempts"/>.
    /// </summary>
    public static int FailuresInARow(int failuresBefore, long headway) => headway >= BufferBytes ? 1 : failuresBefore + 1;

    /// <summary>The pause after the <paramref name="failures"/>-th failed try in a row, give or take a fifth.</summary>
    public TimeSpan Backoff(int failures)
    {
        double ms = FirstBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, failures - 1)) * (0.8 + (0.4 * Random.Shared.NextDouble()));
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxBackoff.TotalMilliseconds));
    }
}
