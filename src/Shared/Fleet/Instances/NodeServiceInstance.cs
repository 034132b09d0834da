using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Networking;
using Pipeline.Fleet.Rollout;

namespace Pipeline.Fleet.Instances;

/// <summary>
/// A node service running on a device (API.md <c>NodeServiceInstance</c>): its LAN allocation,
/// its configuration (<see cref="ConfigMapJson"/>, JSON text) and the selector that decides its
/// target version.
/// </summary>
public sealed record NodeServiceInstance(
    string InstanceId,
    string NodeServiceId,
    string CustomerId,
    string DeviceId,
    string Arch,
    VersionTargetSelector Selector,
    LanAllocation? Lan,
    string? ConfigMapJson,
    DateTimeOffset Created)
{
    /// <summary>
    /// The update window of the instance's device, kept on the instance's row (written when the
    /// instance is added and whenever the device's window is set), so a fan-out reads a page of
    /// instances with their windows in one query instead of one device read each.
    /// </summary>
    public UpdateWindow? DeviceWindow { get; init; }

    /// <summary>The device's last report about this instance, if it made one.</summary>
    public InstanceStatus? Status { get; init; }

    /// <summary>The version whose rollout counts this instance in one of its waves (latest-followers only).</summary>
    public int? RolloutVersion { get; init; }

    /// <summary>The wave of <see cref="RolloutVersion"/>'s rollout this instance belongs to.</summary>
    public int RolloutWave { get; init; }

    /// <summary>What this instance's reports made of the rollout of <see cref="RolloutResult.Version"/>, once they said something.</summary>
    public RolloutResult? RolloutResult { get; init; }

    /// <summary>The version this instance should run now: its pin, nothing when disabled, or what "latest" means for it (<see cref="NodeService.LatestFor"/>).</summary>
    public int? TargetVersion(NodeService service) =>
        Selector.Kind == VersionTargetKind.Latest ? service.LatestFor(this) : Selector.Resolve(null);
}
