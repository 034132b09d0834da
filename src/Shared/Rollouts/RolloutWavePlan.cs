using System.Security.Cryptography;
using System.Text;
using Pipeline.Fleet.Rollout;

namespace Pipeline.Rollouts;

/// <summary>
/// Splits the instances that follow the latest version into a policy's waves. Each wave is the
/// next slice of one order that spreads every architecture evenly (an instance's place is its
/// rank inside its architecture, scaled to [0, 1)), so the first wave already runs the new
/// version on each architecture in proportion. Ranks come from a hash of the instance id: the
/// same fleet always splits the same way, and no customer-chosen id order decides who goes first.
/// </summary>
public static class RolloutWavePlan
{
    /// <summary>Each instance's wave, and how many instances each wave holds.</summary>
    public static (IReadOnlyList<(string InstanceId, int Wave)> Assignments, IReadOnlyList<int> Sizes) Plan(
        IReadOnlyList<(string InstanceId, string Arch)> members, RolloutPolicy policy)
    {
        var ordered = members
            .GroupBy(m => m.Arch, StringComparer.Ordinal)
            .SelectMany(g =>
            {
                var ranked = g.OrderBy(m => Rank(m.InstanceId), StringComparer.Ordinal).ToList();
                return ranked.Select((m, i) => (m.InstanceId, m.Arch, Place: (i + 0.5) / ranked.Count));
            })
            .OrderBy(m => m.Place)
            .ThenBy(m => m.Arch, StringComparer.Ordinal)
            .ThenBy(m => m.InstanceId, StringComparer.Ordinal)
            .ToList();

        var sizes = Sizes(ordered.Count, policy);
        var assignments = new List<(string, int)>(ordered.Count);
        int at = 0;
        for (int wave = 0; wave < sizes.Count; wave++)
        {
            for (int i = 0; i < sizes[wave]; i++)
            {
                assignments.Add((ordered[at++].InstanceId, wave));
            }
        }
        return (assignments, sizes);
    }

    /// <summary>
    /// Wave sizes for <paramref name="count"/> instances: wave k ends at
    /// ceil(count × waves[k] / 100), holds at least <see cref="RolloutPolicy.MinWaveInstances"/>
    /// while instances remain, and the last ends at everyone. Waves left with nobody are empty.
    /// </summary>
    public static IReadOnlyList<int> Sizes(int count, RolloutPolicy policy)
    {
        var sizes = new List<int>(policy.Waves.Count);
        int done = 0;
        for (int k = 0; k < policy.Waves.Count; k++)
        {
            int end = k == policy.Waves.Count - 1 ? count : (int)Math.Ceiling(count * policy.Waves[k] / 100.0);
            end = Math.Min(count, Math.Max(end, done + policy.MinWaveInstances));
            sizes.Add(Math.Max(0, end - done));
            done = Math.Max(done, end);
        }
        return sizes;
    }

    private static string Rank(string instanceId) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(instanceId)));
}
