using Microsoft.DurableTask;

namespace Pipeline.Deployments;

/// <summary>
/// Sends every affected instance of a node service its deployment message: one page of at most
/// <see cref="FanOutPageActivity.PageSize"/> instances per generation, then
/// <c>ContinueAsNew</c> with the cursor, so the history never holds more than one page's events
/// however large the fleet. Each page is idempotent (records say what was sent), so a retried or
/// replayed page sends nothing twice that was recorded, and what was not is sent again with the
/// same message id.
/// </summary>
public sealed class DeploymentFanOutOrchestrator : TaskOrchestrator<FanOutRequest, FanOutTotals>
{
    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 6,
        firstRetryInterval: TimeSpan.FromSeconds(2),
        backoffCoefficient: 2,
        maxRetryInterval: TimeSpan.FromMinutes(1)));

    public override async Task<FanOutTotals> RunAsync(TaskOrchestrationContext context, FanOutRequest input)
    {
        var page = await context.CallActivityAsync<FanOutPageResult>(nameof(FanOutPageActivity),
            new FanOutPageInput(input.NodeServiceId, input.CustomerId, input.InstanceIds, input.Cursor), Retry);
        var totals = (input.Totals ?? FanOutTotals.None).Add(page);
        if (page.NextCursor is not null)
        {
            context.ContinueAsNew(input with { Cursor = page.NextCursor, Totals = totals });
        }
        return totals;
    }
}
