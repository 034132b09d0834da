using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;
using Pipeline.Snapshots;

namespace Pipeline.Fleet;

/// <summary>A node service as the catalog knows it: (customer, name) and its latest version.</summary>
public sealed record NodeService(
    string CustomerId,
    string NodeServiceId,
    string Name,
    int? ContainerVersion,
    string? ContainerImage,
    IReadOnlyList<string> Architectures)
{
    /// <summary>Networking fixed by the first import; <see cref="NodeServiceNetwork.None"/> when none was given.</summary>
    public NodeServiceNetwork Network { get; init; } = NodeServiceNetwork.None;

    /// <summary>How new versions roll out; kept until changed.</summary>
    public RolloutPolicy Policy { get; init; } = RolloutPolicy.Default;

    /// <summary>
    /// What "latest" resolves to while versions roll out; null for a row written before rollouts
    /// existed, where latest is simply <see cref="ContainerVersion"/>.
    /// </summary>
    public RolloutPointer? Rollout { get; init; }

    /// <summary>
    /// The version an instance that follows the latest should run now: the rolling version once
    /// the instance's wave started (or the last wave did), otherwise the base version, which
    /// skips every version that was rolled back.
    /// </summary>
    public int? LatestFor(NodeServiceInstance instance)
    {
        if (Rollout is not { } rollout)
        {
            return ContainerVersion;
        }
        if (rollout.RollingVersion is int rolling
            && (rollout.EveryoneAdmitted || (instance.RolloutVersion == rolling && rollout.RollingWave >= 0 && instance.RolloutWave <= rollout.RollingWave)))
        {
            return rolling;
        }
        return rollout.BaseVersion;
    }

    /// <summary>The pointer, with a row written before rollouts read as settled on its latest version.</summary>
    public RolloutPointer RolloutOrSettled => Rollout ?? RolloutPointer.Settled(ContainerVersion);
}
