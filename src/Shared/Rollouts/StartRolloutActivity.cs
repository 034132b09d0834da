using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Pipeline.Rollouts;

/// <summary>
/// Starts the rollout of a committed version as an orchestration of its own
/// (<see cref="RolloutOrchestrator.InstanceIdFor"/>), so the import that committed it ends at
/// once. Safe to run twice: a rollout that exists under the id is left as it is.
/// </summary>
public sealed class StartRolloutActivity(DurableTaskClient durable) : TaskActivity<RolloutInput, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, RolloutInput input) => StartAsync(durable, input);

    /// <summary>The activity's work, for a host that hands the client over per call (the Functions app's <c>[DurableClient]</c>).</summary>
    public static async Task<bool> StartAsync(DurableTaskClient durable, RolloutInput input)
    {
        string id = RolloutOrchestrator.InstanceIdFor(input.NodeServiceId, input.Version);
        if (await durable.GetInstanceAsync(id, getInputsAndOutputs: false).ConfigureAwait(false) is not null)
        {
            return false;
        }
        await durable.ScheduleNewOrchestrationInstanceAsync(nameof(RolloutOrchestrator), input with { Wave = -1 },
            new StartOrchestrationOptions(InstanceId: id)).ConfigureAwait(false);
        return true;
    }
}
