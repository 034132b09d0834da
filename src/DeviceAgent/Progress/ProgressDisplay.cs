using Spectre.Console;

namespace DeviceAgent.Progress;

/// <summary>Runs a version's downloads under the right kind of progress: bars on a terminal, lines otherwise.</summary>
internal static class ProgressDisplay
{
    public static async Task<T> RunAsync<T>(AgentLog log, long totalBytes, Func<IDownloadProgress, Task<T>> work)
    {
        if (!log.Interactive)
        {
            return await work(new LineProgress(log, totalBytes)).ConfigureAwait(false);
        }
        return await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var total = context.AddTask("[bold]total[/]", maxValue: Math.Max(1, totalBytes));
                try
                {
                    return await work(new SpectreProgress(context, total)).ConfigureAwait(false);
                }
                finally
                {
                    total.StopTask();
                }
            }).ConfigureAwait(false);
    }
}
