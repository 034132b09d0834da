using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Pipeline.Deployments;

/// <summary>A fan-out to start, under an orchestration id that a second attempt finds again.</summary>
public sealed record StartFanOutInput(string InstanceId, FanOutRequest Request);

/// <summary>
/// Starts a fan-out as an orchestration of its own, so the orchestration that asks for it (an
/// import that committed a version) ends at once instead of waiting on a fleet. Safe to run
/// twice: a fan-out that already exists under the id is left as it is.
/// </summary>
public sealed class StartFanOutActivity(DurableTaskClient durable) : TaskActivity<StartFanOutInput, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, StartFanOutInput input) => StartAsync(durable, input);

    /// <summary>The activity's work, for a host that hands the client over per call (the Functions app's <c>[DurableClient]</c>).</summary>
    public static async Task<bool> StartAsync(DurableTaskClient durable, StartFanOutInput input)
    {
        if (await durable.GetInstanceAsync(input.InstanceId, getInputsAndOutputs: false).ConfigureAwait(false) is not null)
        {
            return false;
        }
        await durable.ScheduleNewOrchestrationInstanceAsync(nameof(DeploymentFanOutOrchestrator), input.Request,
            new StartOrchestrationOptions(InstanceId: input.InstanceId)).ConfigureAwait(false);
        return true;
    }
}
