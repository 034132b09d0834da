using Microsoft.DurableTask;

namespace Pipeline.Rollouts;

/// <summary>Starts a rollout's next wave (<see cref="RolloutSteps.StartWaveAsync"/>).</summary>
public sealed class StartWaveActivity(RolloutSteps steps) : TaskActivity<RolloutInput, RolloutStep>
{
    public override Task<RolloutStep> RunAsync(TaskActivityContext context, RolloutInput input) => steps.StartWaveAsync(input, CancellationToken.None);
}
