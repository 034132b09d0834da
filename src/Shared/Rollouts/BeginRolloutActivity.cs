using Microsoft.DurableTask;

namespace Pipeline.Rollouts;

/// <summary>Begins a rollout (<see cref="RolloutSteps.BeginAsync"/>).</summary>
public sealed class BeginRolloutActivity(RolloutSteps steps) : TaskActivity<RolloutInput, RolloutStep>
{
    public override Task<RolloutStep> RunAsync(TaskActivityContext context, RolloutInput input) => steps.BeginAsync(input, CancellationToken.None);
}
