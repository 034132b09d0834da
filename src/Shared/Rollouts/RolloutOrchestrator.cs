using Microsoft.DurableTask;
using Pipeline.Deployments;

namespace Pipeline.Rollouts;

/// <summary>
/// Rolls one version out under its node service's policy: begins (splits the latest-followers
/// into waves), then for each wave starts a fan-out and watches the wave until it is healthy for
/// the soak time (next wave), or its failed or silent share reaches the threshold (roll back),
/// or a newer version took over (stop). Watching is one look per generation: evaluate, then wait
/// for a status report event or a durable timer, then <c>ContinueAsNew</c> dropping the events
/// that came meanwhile (the next look reads the reports from storage), so the history stays a
/// handful of events however many devices report.
/// </summary>
public sealed class RolloutOrchestrator : TaskOrchestrator<RolloutInput, string>
{
    /// <summary>The event a status report raises when it moved an instance's result.</summary>
    public const string StatusEvent = "status";

    /// <summary>After a report wakes the rollout, it waits this long so a burst of reports costs one look.</summary>
    public static readonly TimeSpan ReportBurst = TimeSpan.FromSeconds(1);

    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 6,
        firstRetryInterval: TimeSpan.FromSeconds(2),
        backoffCoefficient: 2,
        maxRetryInterval: TimeSpan.FromMinutes(1)));

    /// <summary>The rollout of a version: one per version, so a second start finds it.</summary>
    public static string InstanceIdFor(string nodeServiceId, int version) => $"rollout-{nodeServiceId}-v{version}";

    /// <summary>The fan-out of one step of a rollout (<c>wave0</c>, <c>wave1</c>, …, <c>back</c>, <c>done</c>).</summary>
    public static string FanOutIdFor(string nodeServiceId, int version, string step) => $"{InstanceIdFor(nodeServiceId, version)}-{step}";

    public override async Task<string> RunAsync(TaskOrchestrationContext context, RolloutInput input)
    {
        if (input.Wave < 0)
        {
            var begun = await context.CallActivityAsync<RolloutStep>(nameof(BeginRolloutActivity), input, Retry);
            if (!begun.Running)
            {
                return begun.State;
            }
            await FanOutAsync(context, input, "wave0", "rollout_wave");
            context.ContinueAsNew(input with { Wave = 0, Waves = begun.Waves, WaveStartedAt = begun.WaveStartedAt, HealthySince = null }, preserveUnprocessedEvents: false);
            return RolloutRecord.RollingOut;
        }

        var verdict = await context.CallActivityAsync<WaveVerdict>(nameof(EvaluateWaveActivity), input, Retry);
        switch (verdict.Action)
        {
            case WaveVerdict.Stop:
                return RolloutRecord.Superseded;
            case WaveVerdict.RollBack:
                await context.CallActivityAsync<bool>(nameof(EndRolloutActivity),
                    new EndRolloutInput(input.NodeServiceId, input.CustomerId, input.Version, RolloutRecord.RolledBack, verdict.Reason), Retry);
                // Every instance that moved goes back to the previous good version.
                await FanOutAsync(context, input, "back", "rollback");
                return RolloutRecord.RolledBack;
            case WaveVerdict.Advance when input.Wave + 1 >= input.Waves:
                await context.CallActivityAsync<bool>(nameof(EndRolloutActivity),
                    new EndRolloutInput(input.NodeServiceId, input.CustomerId, input.Version, RolloutRecord.Completed, null), Retry);
                // Latest-followers outside every wave (a selector set back to latest meanwhile) get it now.
                await FanOutAsync(context, input, "done", "rollout_completed");
                return RolloutRecord.Completed;
            case WaveVerdict.Advance:
                int next = input.Wave + 1;
                var step = await context.CallActivityAsync<RolloutStep>(nameof(StartWaveActivity), input with { Wave = next }, Retry);
                if (!step.Running)
                {
                    return step.State;
                }
                await FanOutAsync(context, input, "wave" + next, "rollout_wave");
                context.ContinueAsNew(input with { Wave = next, WaveStartedAt = step.WaveStartedAt, HealthySince = null }, preserveUnprocessedEvents: false);
                return RolloutRecord.RollingOut;
            default:
                var wait = verdict.WakeAt - context.CurrentUtcDateTime;
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await context.WaitForExternalEvent<string>(StatusEvent, wait);
                        await context.CreateTimer(context.CurrentUtcDateTime + ReportBurst, CancellationToken.None);
                    }
                    catch (OperationCanceledException)
                    {
                        // The timer came first: a timeout or the soak's end is due.
                    }
                }
                context.ContinueAsNew(input with { HealthySince = verdict.HealthySince }, preserveUnprocessedEvents: false);
                return RolloutRecord.RollingOut;
        }
    }

    private static Task<bool> FanOutAsync(TaskOrchestrationContext context, RolloutInput input, string step, string reason) =>
        context.CallActivityAsync<bool>(nameof(StartFanOutActivity), new StartFanOutInput(FanOutIdFor(input.NodeServiceId, input.Version, step),
            new FanOutRequest(input.NodeServiceId, input.CustomerId, reason)), Retry);
}
