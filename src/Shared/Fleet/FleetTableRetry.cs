using Azure;

namespace Pipeline.Fleet;

/// <summary>
/// Retries a table operation that found its table missing. The first use of a table in each
/// process creates it; when two processes do so at once, one may be told the table exists and
/// still have its first write refused with <c>TableNotFound</c> for a moment (seen on Azurite
/// under load). Other errors, and a missing entity (<c>ResourceNotFound</c>), pass through.
/// </summary>
internal static class FleetTableRetry
{
    private const int MaxAttempts = 6;

    public static async Task<T> RunAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await operation().ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == "TableNotFound" && attempt < MaxAttempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static Task RunAsync(Func<Task> operation, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await operation().ConfigureAwait(false);
            return true;
        }, cancellationToken);
}
