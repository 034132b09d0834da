using System.Text.Json;
using Pipeline.Deltas;
using Pipeline.Fleet;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Oci;
using Pipeline.Snapshots;

namespace Pipeline.Api.Devices;

/// <summary>
/// What a device may ask of the platform (API.md "Devices"): the plan of one of its instances,
/// a status report, and its target. A device key opens only its own device; an unknown
/// instance, an instance of another device and a wrong key are all the same <c>FORBIDDEN</c>, so
/// an answer never tells which ids exist. A plan costs three point reads (device, instance, node
/// service) once the version's record is cached in process.
/// </summary>
public sealed class DeviceApiService(
    DeviceStore devices,
    NodeServiceInstanceStore instances,
    NodeServiceStore services,
    SnapshotRecordStore versions,
    DownloadUrlSigner signer,
    TimeProvider time,
    ChunkPlanner? chunks = null)
{
    private const string NotYours = "This key opens no such instance on this device.";

    /// <summary>The plan of an instance for a device that already holds <paramref name="have"/>.</summary>
    public Task<PlanResponse> PlanAsync(string deviceId, string instanceId, string? key, IReadOnlySet<Digest> have, CancellationToken cancellationToken) =>
        PlanAsync(deviceId, instanceId, key, new PlanRequest(have, AcceptChunks: false), cancellationToken);

    /// <summary>
    /// The plan, with chunk deltas for a device that accepts them: each layer it lacks that is
    /// indexed, and cheaper as chunks than whole, carries <see cref="PlanBlob.Chunks"/>.
    /// </summary>
    public async Task<PlanResponse> PlanAsync(string deviceId, string instanceId, string? key, PlanRequest request, CancellationToken cancellationToken)
    {
        var have = request.Have;
        var (instance, _, service) = await OpenAsync(deviceId, instanceId, key, cancellationToken).ConfigureAwait(false);
        var network = PlanNetworkOf(service.Network, instance);
        var configMap = instance.ConfigMapJson is { } json ? JsonDocument.Parse(json).RootElement.Clone() : (JsonElement?)null;
        if (instance.TargetVersion(service) is not int version)
        {
            // Disabled: the device runs nothing of this node service and downloads nothing.
            return new PlanResponse(null, instance.Arch, null, null, [], null, null, network, configMap, [], 0, 0, null);
        }
        var record = await versions.GetAsync(service.NodeServiceId, version, cancellationToken).ConfigureAwait(false)
            ?? throw new PipelineException(ErrorCodes.NotFound, $"Version {version} of this node service does not exist.");
        var arch = record.Architectures.FirstOrDefault(a => a.Arch == instance.Arch)
            ?? throw new PipelineException(ErrorCodes.ArchMismatch, $"Version {version} has no {instance.Arch} image; pin the instance to a version that has one.");

        var delta = DeltaPlan.For(arch, have);
        var urls = await signer.ForNowAsync(cancellationToken).ConfigureAwait(false);
        return new PlanResponse(
            version,
            arch.Arch,
            arch.Manifest.Digest.ToString(),
            Describe(arch.Config),
            arch.Layers.Select(Describe).ToList(),
            Describe(record.EnvFile),
            urls.For(record.EnvFile.Digest).ToString(),
            network,
            configMap,
            await BlobsAsync(delta.Blobs, arch, request, urls, cancellationToken).ConfigureAwait(false),
            delta.BytesTotal,
            delta.BytesToDownload,
            urls.ExpiresOn);
    }

    private async Task<IReadOnlyList<PlanBlob>> BlobsAsync(IReadOnlyList<Descriptor> missing, ArchSnapshot arch, PlanRequest request, DownloadUrls urls, CancellationToken cancellationToken)
    {
        var blobs = new List<PlanBlob>(missing.Count);
        foreach (var b in missing)
        {
            var blob = new PlanBlob(b.Digest.ToString(), b.Size, b.MediaType, urls.For(b.Digest).ToString());
            if (request.AcceptChunks && chunks is not null && b.Digest != arch.Config.Digest)
            {
                blob = blob with { Chunks = await chunks.ForAsync(b, request.Have, urls, cancellationToken).ConfigureAwait(false) };
            }
            blobs.Add(blob);
        }
        return blobs;
    }

    /// <summary>
    /// Records a device's report on one of its instances. A version the node service does not
    /// have is <c>BAD_INPUT</c>; nothing is stored then. When the report is the first to say how
    /// the instance fares with the version rolling out to it (<see cref="RolloutResult.Next"/>),
    /// its result is recorded too and the answer names the rollout to wake.
    /// </summary>
    public async Task<StatusOutcome> ReportAsync(string deviceId, string instanceId, string? key, StatusReport report, CancellationToken cancellationToken)
    {
        var (instance, etag, service) = await OpenAsync(deviceId, instanceId, key, cancellationToken).ConfigureAwait(false);
        if (await versions.GetAsync(instance.NodeServiceId, report.ContainerVersion, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new PipelineException(ErrorCodes.BadInput, $"container_version: this node service has no version {report.ContainerVersion}.");
        }
        var status = new InstanceStatus(report.ContainerVersion, report.State, report.Healthy, report.Message, time.GetUtcNow());
        string? rollout = await RecordRolloutResultAsync(instance, etag, service, status, cancellationToken).ConfigureAwait(false);
        if (!await instances.TrySetStatusAsync(instance.NodeServiceId, instance.InstanceId, status, cancellationToken).ConfigureAwait(false))
        {
            throw new PipelineException(ErrorCodes.Forbidden, NotYours);
        }
        return new StatusOutcome(status, rollout);
    }

    /// <summary>
    /// Moves the instance's rollout result when the report is about the version rolling out to it
    /// now; returns the rollout's orchestration id when it did. The write is conditional on the
    /// row read (the one the request opened, then a fresh one after a lost race), so of two
    /// reports racing only one moves the result.
    /// </summary>
    private async Task<string?> RecordRolloutResultAsync(NodeServiceInstance instance, Azure.ETag etag, NodeService service, InstanceStatus status, CancellationToken cancellationToken)
    {
        NodeServiceInstance? current = instance;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            if (attempt > 0)
            {
                (current, etag) = await instances.GetAsync(instance.InstanceId, cancellationToken).ConfigureAwait(false);
            }
            if (current is null
                || service.Rollout?.RollingVersion is not int rolling
                // Admitted to the rolling version (under a one-wave policy that is at commit,
                // possibly before the rollout wrote its waves onto the rows: the result waits there).
                || current.Selector.Kind != Fleet.Rollout.VersionTargetKind.Latest
                || current.TargetVersion(service) != rolling
                || RolloutResult.Next(current.RolloutResult, rolling, status) is not { } next)
            {
                return null;
            }
            if (await instances.TrySetRolloutResultAsync(current.NodeServiceId, current.InstanceId, next, etag, cancellationToken).ConfigureAwait(false))
            {
                return Rollouts.RolloutOrchestrator.InstanceIdFor(current.NodeServiceId, rolling);
            }
        }
        return null;
    }

    /// <summary>Every instance on the device and the version it should run now, ordered by instance id.</summary>
    public async Task<TargetResponse> TargetAsync(string deviceId, string? key, CancellationToken cancellationToken)
    {
        var (device, ids) = await devices.AuthenticateWithInstancesAsync(deviceId, key, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            throw new PipelineException(ErrorCodes.Forbidden, "This key does not open this device.");
        }
        var found = await Task.WhenAll(ids.Select(id => instances.GetAsync(id, cancellationToken))).ConfigureAwait(false);
        var mine = found.Select(f => f.Instance)
            .OfType<NodeServiceInstance>()
            .Where(i => i.DeviceId == device.DeviceId && i.CustomerId == device.CustomerId)
            .ToList();
        var latest = new Dictionary<string, NodeService>(StringComparer.Ordinal);
        foreach (string serviceId in mine.Select(i => i.NodeServiceId).Distinct(StringComparer.Ordinal))
        {
            var (service, _) = await services.GetAsync(device.CustomerId, serviceId, cancellationToken).ConfigureAwait(false);
            if (service is not null)
            {
                latest[serviceId] = service;
            }
        }
        return new TargetResponse(mine
            .Where(i => latest.ContainsKey(i.NodeServiceId))
            .OrderBy(i => i.InstanceId, StringComparer.Ordinal)
            .Select(i => new TargetInstance(i.InstanceId, i.NodeServiceId, i.TargetVersion(latest[i.NodeServiceId]), DeviceRoutes.PlanUrl(device.DeviceId, i.InstanceId)))
            .ToList());
    }

    /// <summary>The instance (with its row's ETag) and its node service, when the key opens the device and the instance is on it.</summary>
    private async Task<(NodeServiceInstance Instance, Azure.ETag ETag, NodeService Service)> OpenAsync(string deviceId, string instanceId, string? key, CancellationToken cancellationToken)
    {
        var deviceRead = devices.AuthenticateAsync(deviceId, key, cancellationToken);
        var instanceRead = instances.GetAsync(instanceId, cancellationToken);
        var device = await deviceRead.ConfigureAwait(false);
        var (instance, etag) = await instanceRead.ConfigureAwait(false);
        if (device is null || instance is null || instance.DeviceId != device.DeviceId || instance.CustomerId != device.CustomerId)
        {
            throw new PipelineException(ErrorCodes.Forbidden, NotYours);
        }
        var (service, _) = await services.GetAsync(instance.CustomerId, instance.NodeServiceId, cancellationToken).ConfigureAwait(false);
        return service is null ? throw new PipelineException(ErrorCodes.Forbidden, NotYours) : (instance, etag, service);
    }

    private static PlanNetwork PlanNetworkOf(NodeServiceNetwork network, NodeServiceInstance instance) => new(
        network.WanConfigureNetwork,
        network.LanConfigureNetwork,
        network.Masquerade,
        instance.Lan is { } lan ? new PlanLan(lan.InterfaceAddress, lan.Subnet, lan.DhcpRangeStart, lan.DhcpRangeEnd) : null);

    private static BlobDescriptor Describe(Descriptor d) => new(d.Digest.ToString(), d.Size, d.MediaType);
}
