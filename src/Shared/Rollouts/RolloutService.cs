using Pipeline.Fleet;
using Pipeline.Fleet.Rollout;
using Pipeline.Snapshots;

namespace Pipeline.Rollouts;

/// <summary>
/// What the API asks of rollouts: how one stands (<c>DM_get_rollout</c>) and a node service's
/// policy for its later versions (<c>DM_update_node_service_rollout_policy</c>). Callers pass
/// <c>authorize</c>, which throws <c>FORBIDDEN</c> unless the caller may act for the customer.
/// </summary>
public sealed class RolloutService(NodeServiceStore services, SnapshotRecordStore versions, RolloutStore rollouts, TimeProvider time)
{
    public async Task<RolloutRecord> GetAsync(string nodeServiceId, int version, Action<string> authorize, CancellationToken cancellationToken)
    {
        var service = await services.FindAuthorizedAsync(nodeServiceId, authorize, cancellationToken).ConfigureAwait(false);
        if (version < 1 || await versions.GetAsync(service.NodeServiceId, version, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new PipelineException(ErrorCodes.NotFound, $"Node service '{nodeServiceId}' has no version {version}.");
        }
        if (await rollouts.GetAsync(service.NodeServiceId, version, cancellationToken).ConfigureAwait(false) is { } record)
        {
            return record;
        }
        // No record: the rollout is about to begin, or the version predates rollouts (it went to everyone at once).
        var pointer = service.RolloutOrSettled;
        var now = time.GetUtcNow();
        string state = pointer.RollingVersion == version ? RolloutRecord.RollingOut
            : pointer.RolledBack.Contains(version) ? RolloutRecord.RolledBack
            : RolloutRecord.Completed;
        return new RolloutRecord(service.NodeServiceId, version, state, null, [], null, service.Policy, now, null, now);
    }

    public async Task SetPolicyAsync(string nodeServiceId, RolloutPolicy policy, Action<string> authorize, CancellationToken cancellationToken)
    {
        var service = await services.FindAuthorizedAsync(nodeServiceId, authorize, cancellationToken).ConfigureAwait(false);
        await services.UpdateAsync(service.CustomerId, service.NodeServiceId, s => s with { Policy = policy }, cancellationToken).ConfigureAwait(false);
    }
}
