namespace Pipeline.Fleet.Rollout;

/// <summary>
/// What "latest" means for a node service's instances while versions roll out (kept on the node
/// service's row): the version latest-followers run outside a rollout (<see cref="BaseVersion"/>:
/// the last one that completed, or after a rollback the newest that was not rolled back), the
/// version rolling out and its wave reached so far, and the versions rolled back.
/// </summary>
/// <param name="BaseVersion">What latest-followers outside a rollout's started waves run.</param>
/// <param name="RollingVersion">The version rolling out, if any.</param>
/// <param name="RollingWave">The last wave started; -1 before the first.</param>
/// <param name="RollingWaves">How many waves the rolling version has.</param>
/// <param name="RolledBack">Versions rolled back: latest-followers never resolve to them again.</param>
public sealed record RolloutPointer(int? BaseVersion, int? RollingVersion, int RollingWave, int RollingWaves, IReadOnlyList<int> RolledBack)
{
    /// <summary>A node service whose latest is <paramref name="version"/> and nothing rolling.</summary>
    public static RolloutPointer Settled(int? version) => new(version, null, -1, 0, []);

    /// <summary>
    /// The pointer once <paramref name="version"/> is committed: it rolls, with nobody admitted
    /// before its first wave starts, except under a one-wave policy, where everyone is admitted
    /// at once (the rollout still watches them).
    /// </summary>
    public RolloutPointer Committed(int version, RolloutPolicy policy) =>
        this with { RollingVersion = version, RollingWave = policy.Waves.Count == 1 ? 0 : -1, RollingWaves = policy.Waves.Count };

    /// <summary>Whether every latest-follower runs the rolling version (its last wave started).</summary>
    public bool EveryoneAdmitted => RollingVersion is not null && RollingWave >= 0 && RollingWave >= RollingWaves - 1;

    /// <summary>
    /// The newest version of 1..<paramref name="newest"/> that was not rolled back (API.md: the
    /// version latest-followers resolve to), or null when every one was.
    /// </summary>
    public int? NewestGood(int newest)
    {
        for (int v = newest; v > 0; v--)
        {
            if (!RolledBack.Contains(v))
            {
                return v;
            }
        }
        return null;
    }
}
