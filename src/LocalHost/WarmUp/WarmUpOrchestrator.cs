using Microsoft.DurableTask;
using Pipeline.Imports;

namespace Pipeline.LocalHost.WarmUp;

/// <summary>
/// The start-up warm-up's orchestration: shaped like an import (an <see cref="ImportRequest"/> in,
/// a few copy groups in parallel with the import's retry policy, an <see cref="ImportOutcome"/>
/// out), so the durable worker, its serializer and the shims run the code an import runs.
/// Its instance id is a throwaway import id; <see cref="StartupWarmUp"/> purges it.
/// </summary>
public sealed class WarmUpOrchestrator : TaskOrchestrator<ImportRequest, ImportOutcome>
{
    /// <summary>Copy groups started at once, as an import of a few layers starts them.</summary>
    public const int Groups = 2;

    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(maxNumberOfAttempts: 2, firstRetryInterval: TimeSpan.FromSeconds(1)));

    public override async Task<ImportOutcome> RunAsync(TaskOrchestrationContext context, ImportRequest input)
    {
        var groups = await Task.WhenAll(Enumerable.Range(0, Groups).Select(i =>
            context.CallActivityAsync<SnapshotBlobsResult>(nameof(WarmUpActivity),
                new SnapshotBlobsInput(input.ImportId, input.CustomerId, [WarmUpActivity.Placeholder(input, i)]), Retry)));
        return new ImportOutcome(groups.Sum(g => g.Stored), null, null);
    }
}
