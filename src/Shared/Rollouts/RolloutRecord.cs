using System.Text.Json.Serialization;
using Pipeline.Fleet.Rollout;

namespace Pipeline.Rollouts;

/// <summary>
/// The rollout of one version (API.md <c>Rollout</c>): its state, the wave reached, each wave's
/// counts as last evaluated, why it stopped, and the policy it runs under (fixed when it began).
/// </summary>
public sealed record RolloutRecord(
    string NodeServiceId,
    int Version,
    string State,
    int? CurrentWave,
    IReadOnlyList<RolloutWaveCounts> Waves,
    string? Reason,
    RolloutPolicy Policy,
    DateTimeOffset StartedAt,
    DateTimeOffset? WaveStartedAt,
    DateTimeOffset UpdatedAt)
{
    public const string RollingOut = "rolling_out";
    public const string Completed = "completed";
    public const string RolledBack = "rolled_back";
    public const string Superseded = "superseded";

    public bool IsRunning => State == RollingOut;
}

/// <summary>One wave: its cumulative percentage and its instances' health when last evaluated.</summary>
public sealed record RolloutWaveCounts(
    [property: JsonPropertyName("percent")] int Percent,
    [property: JsonPropertyName("instances")] int Instances,
    [property: JsonPropertyName("healthy")] int Healthy,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("pending")] int Pending);

[JsonSerializable(typeof(IReadOnlyList<RolloutWaveCounts>))]
[JsonSerializable(typeof(RolloutPolicy))]
internal sealed partial class RolloutJsonContext : JsonSerializerContext;
