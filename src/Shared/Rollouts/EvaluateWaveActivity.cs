using Microsoft.DurableTask;

namespace Pipeline.Rollouts;

/// <summary>Judges a rollout's current wave (<see cref="RolloutSteps.EvaluateAsync"/>).</summary>
public sealed class EvaluateWaveActivity(RolloutSteps steps) : TaskActivity<RolloutInput, WaveVerdict>
{
    public override Task<WaveVerdict> RunAsync(TaskActivityContext context, RolloutInput input) => steps.EvaluateAsync(input, CancellationToken.None);
}
