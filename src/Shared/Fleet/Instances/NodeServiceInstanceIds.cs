using System.Diagnostics.CodeAnalysis;

namespace Pipeline.Fleet.Instances;

/// <summary>
/// Instance ids carry their node service's id (<c>{node_service_id}.{20 hex}</c>), so calls that
/// name only the instance (<c>DM_remove_node_service_instance</c>, rollout config) find its row
/// with a point read in the node service's partition, with no index to keep in step.
/// </summary>
public static class NodeServiceInstanceIds
{
    private const int SuffixLength = 20;

    public static string New(string nodeServiceId) => nodeServiceId + "." + Guid.NewGuid().ToString("N")[..SuffixLength];

    /// <summary>The node service id inside an instance id; false for anything not made by <see cref="New"/>.</summary>
    public static bool TryGetNodeServiceId(string? instanceId, [NotNullWhen(true)] out string? nodeServiceId)
    {
        nodeServiceId = null;
        if (!Ids.IsSafeKey(instanceId))
        {
            return false;
        }
        int dot = instanceId!.LastIndexOf('.');
        if (dot <= 0 || instanceId.Length - dot - 1 != SuffixLength || !instanceId[(dot + 1)..].All(char.IsAsciiHexDigitLower))
        {
            return false;
        }
        nodeServiceId = instanceId[..dot];
        return true;
    }
}
