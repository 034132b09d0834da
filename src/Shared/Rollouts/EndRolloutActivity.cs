using Microsoft.DurableTask;

namespace Pipeline.Rollouts;

/// <summary>Completes or rolls back a rollout (<see cref="RolloutSteps.EndAsync"/>).</summary>
public sealed class EndRolloutActivity(RolloutSteps steps) : TaskActivity<EndRolloutInput, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, EndRolloutInput input) => steps.EndAsync(input, CancellationToken.None);
}
