namespace Pipeline.Rollouts;

// Inputs and outputs of a rollout: ids, wave numbers and times only, so a generation's history
// stays a few events whatever the fleet's size (wave membership lives on the instance rows).

/// <summary>
/// The rollout of <see cref="Version"/>; <see cref="Wave"/> -1 before it began, else the wave
/// being watched, started at <see cref="WaveStartedAt"/>, healthy throughout since
/// <see cref="HealthySince"/> (null while some of it is still pending).
/// </summary>
public sealed record RolloutInput(
    string NodeServiceId,
    string CustomerId,
    int Version,
    int Wave = -1,
    int Waves = 0,
    DateTimeOffset? WaveStartedAt = null,
    DateTimeOffset? HealthySince = null);

/// <summary>Where a rollout stands after a step: running (with its wave count and the wave's start) or ended in <see cref="State"/>.</summary>
public sealed record RolloutStep(bool Running, string State, int Waves, DateTimeOffset? WaveStartedAt);

/// <summary>One look at a wave: what to do next, and when to look again.</summary>
public sealed record WaveVerdict(string Action, DateTimeOffset? HealthySince, DateTimeOffset WakeAt, string? Reason)
{
    /// <summary>Some instances are pending, or the wave is soaking: look again at <see cref="WakeAt"/> or on a report.</summary>
    public const string Wait = "wait";

    /// <summary>Healthy for the whole soak: start the next wave (or complete).</summary>
    public const string Advance = "advance";

    /// <summary>The failed or silent share reached the threshold.</summary>
    public const string RollBack = "roll_back";

    /// <summary>The rollout is over already (a newer version superseded it).</summary>
    public const string Stop = "stop";
}

/// <summary>Ends a rollout: <see cref="RolloutRecord.Completed"/> or <see cref="RolloutRecord.RolledBack"/>, with the reason.</summary>
public sealed record EndRolloutInput(string NodeServiceId, string CustomerId, int Version, string State, string? Reason);
