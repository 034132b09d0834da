using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Pipeline.Fleet.Instances;

namespace Pipeline.Deployments;

/// <summary>
/// Starts fan-outs for the changes that can move an instance's target or its due time: an
/// instance added, selectors set, a device's window moved (a new version starts its own, from the
/// import). One fan-out per node service touched, naming only the instances concerned.
/// </summary>
public static class DeploymentTriggers
{
    public const string InstanceAdded = "instance_added";
    public const string SelectorChanged = "selector_changed";
    public const string WindowChanged = "window_changed";
    public const string VersionCommitted = "version_committed";

    /// <summary>
    /// Starts one fan-out per node service among <paramref name="instanceIds"/> (the service is
    /// part of an instance's id). Each gets an orchestration id of its own, so two triggers never
    /// replace each other; fan-outs are idempotent, so they may overlap.
    /// </summary>
    public static async Task StartAsync(DurableTaskClient durable, string customerId, IEnumerable<string> instanceIds, string reason, CancellationToken cancellationToken)
    {
        var byService = instanceIds
            .Select(id => (Id: id, Service: NodeServiceInstanceIds.TryGetNodeServiceId(id, out var s) ? s : null))
            .Where(x => x.Service is not null)
            .GroupBy(x => x.Service!, StringComparer.Ordinal);
        foreach (var group in byService)
        {
            var request = new FanOutRequest(group.Key, customerId, reason, group.Select(x => x.Id).Distinct(StringComparer.Ordinal).ToList());
            await durable.ScheduleNewOrchestrationInstanceAsync(nameof(DeploymentFanOutOrchestrator), request,
                new StartOrchestrationOptions(InstanceId: NewInstanceId(group.Key)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>An orchestration id that says what it is: <c>fanout-{node service}-{random}</c>.</summary>
    public static string NewInstanceId(string nodeServiceId) => $"fanout-{nodeServiceId}-{Guid.NewGuid():N}";
}
