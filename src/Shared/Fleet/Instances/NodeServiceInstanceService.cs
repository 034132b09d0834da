using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Networking;
using Pipeline.Fleet.Rollout;
using Pipeline.Snapshots;

namespace Pipeline.Fleet.Instances;

/// <summary>
/// Adding, removing, listing instances and setting their rollout selectors (API.md
/// <c>DM_add_node_service_instance</c>, <c>DM_remove_node_service_instance</c>,
/// <c>DM_get_node_service_instances</c>, <c>DM_update_node_service_instance_rollout_config</c>).
/// Host-agnostic: callers pass <c>authorize</c>, which throws <c>FORBIDDEN</c> unless the caller
/// may act for the customer that owns what was found.
/// </summary>
public sealed class NodeServiceInstanceService(
    NodeServiceStore services,
    DeviceStore devices,
    NodeServiceInstanceStore instances,
    LanAllocator allocator,
    SnapshotRecordStore versions,
    TimeProvider time)
{
    /// <summary>At most this many instances in one rollout-config call.</summary>
    public const int MaxBatch = 1000;

    private const int Parallelism = 16;

    public async Task<InstanceView> AddAsync(string nodeServiceId, string deviceId, string? configMapJson, Action<string> authorize, CancellationToken cancellationToken)
    {
        DeviceService.ValidateDeviceId(deviceId);
        var service = await services.FindAuthorizedAsync(nodeServiceId, authorize, cancellationToken).ConfigureAwait(false);
        var device = await devices.GetAsync(deviceId, cancellationToken).ConfigureAwait(false)
            ?? throw new PipelineException(ErrorCodes.NotFound, $"Device '{deviceId}' is not registered; DM_register_device registers it.");
        if (device.CustomerId != service.CustomerId)
        {
            throw new PipelineException(ErrorCodes.Forbidden, $"Device '{deviceId}' belongs to another customer.");
        }
        if (!service.Architectures.Contains(device.Arch, StringComparer.Ordinal))
        {
            throw new PipelineException(ErrorCodes.ArchMismatch,
                $"Device '{deviceId}' is {device.Arch}; node service '{service.Name}' has {(service.Architectures.Count == 0 ? "no image yet" : string.Join(", ", service.Architectures))}.");
        }

        var plan = LanPlan.From(service.Network, "the node service's networking settings: ");
        string instanceId = NodeServiceInstanceIds.New(service.NodeServiceId);
        var lan = await allocator.AllocateAsync(service.NodeServiceId, plan, instanceId,
            ct => instances.ListIdsAsync(service.NodeServiceId, ct), cancellationToken).ConfigureAwait(false);
        var instance = new NodeServiceInstance(instanceId, service.NodeServiceId, service.CustomerId, device.DeviceId, device.Arch,
            VersionTargetSelector.Latest, lan, configMapJson, time.GetUtcNow())
        {
            DeviceWindow = device.UpdateWindow,
            // An instance added while a version rolls out joins the wave under way: it gets the
            // new version, and its health counts like its wave's.
            RolloutVersion = service.Rollout?.RollingVersion,
            RolloutWave = Math.Max(0, service.Rollout?.RollingWave ?? 0),
        };
        try
        {
            // The device's link first: an instance that exists is always in its device's target.
            await devices.LinkInstanceAsync(device.DeviceId, instanceId, cancellationToken).ConfigureAwait(false);
            await instances.AddAsync(instance, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Give the range and the link back now rather than leave them to the orphan sweep.
            await allocator.ReleaseAsync(service.NodeServiceId, lan, instanceId, CancellationToken.None).ConfigureAwait(false);
            await devices.UnlinkInstanceAsync(device.DeviceId, instanceId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return new InstanceView(instance, instance.TargetVersion(service));
    }

    /// <summary>Removes an instance and frees its LAN range for the next instance.</summary>
    public async Task RemoveAsync(string instanceId, Action<string> authorize, CancellationToken cancellationToken)
    {
        var (instance, _) = await instances.GetAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (instance is null)
        {
            throw new PipelineException(ErrorCodes.NotFound, $"No node service instance '{instanceId}'.");
        }
        authorize(instance.CustomerId);
        // The row first: a range is only ever free once no instance claims it. A concurrent
        // removal may have won; the instance is gone either way.
        await instances.TryDeleteAsync(instance, Azure.ETag.All, cancellationToken).ConfigureAwait(false);
        await allocator.ReleaseAsync(instance.NodeServiceId, instance.Lan, instance.InstanceId, cancellationToken).ConfigureAwait(false);
        await devices.UnlinkInstanceAsync(instance.DeviceId, instance.InstanceId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A page of a node service's instances, oldest first, and how many there are.</summary>
    public async Task<(IReadOnlyList<InstanceView> Page, int Total)> ListAsync(string nodeServiceId, int skip, int take, Action<string> authorize, CancellationToken cancellationToken)
    {
        var service = await services.FindAuthorizedAsync(nodeServiceId, authorize, cancellationToken).ConfigureAwait(false);
        var all = await instances.ListAsync(service.NodeServiceId, cancellationToken).ConfigureAwait(false);
        var page = all.Skip(skip).Take(take).Select(i => new InstanceView(i, i.TargetVersion(service))).ToList();
        return (page, all.Count);
    }

    /// <summary>
    /// Sets the selector of every listed instance. Everything is checked before anything is
    /// written: each instance exists (<c>NOT_FOUND</c>), may be changed by the caller
    /// (<c>FORBIDDEN</c>), and a pinned version exists for its node service (<c>NOT_FOUND</c>).
    /// </summary>
    /// <returns>The instances whose selector was set.</returns>
    public async Task<IReadOnlyList<NodeServiceInstance>> SetSelectorAsync(IReadOnlyList<string> instanceIds, VersionTargetSelector selector, Action<string> authorize, CancellationToken cancellationToken)
    {
        var ids = instanceIds.Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count is 0 or > MaxBatch)
        {
            throw new PipelineException(ErrorCodes.BadInput, $"node_service_instance_ids: give 1-{MaxBatch} ids.");
        }
        var found = new NodeServiceInstance?[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), Options(cancellationToken), async (i, ct) =>
            found[i] = (await instances.GetAsync(ids[i], ct).ConfigureAwait(false)).Instance).ConfigureAwait(false);
        for (int i = 0; i < ids.Count; i++)
        {
            var instance = found[i] ?? throw new PipelineException(ErrorCodes.NotFound, $"No node service instance '{ids[i]}'.");
            authorize(instance.CustomerId);
        }
        var targets = found.Select(f => f!).ToList();
        if (selector.PinnedVersion is { } pinned)
        {
            foreach (string nodeServiceId in targets.Select(t => t.NodeServiceId).Distinct(StringComparer.Ordinal))
            {
                if (await versions.GetAsync(nodeServiceId, pinned, cancellationToken).ConfigureAwait(false) is null)
                {
                    throw new PipelineException(ErrorCodes.NotFound, $"Node service '{nodeServiceId}' has no version {pinned}.");
                }
            }
        }
        var missing = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(targets, Options(cancellationToken), async (t, ct) =>
        {
            if (!await instances.TrySetSelectorAsync(t.NodeServiceId, t.InstanceId, selector, ct).ConfigureAwait(false))
            {
                missing.Add(t.InstanceId);
            }
        }).ConfigureAwait(false);
        if (!missing.IsEmpty)
        {
            throw new PipelineException(ErrorCodes.NotFound, $"Node service instance '{missing.First()}' was removed meanwhile.");
        }
        return targets;
    }

    private static ParallelOptions Options(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken };
}
