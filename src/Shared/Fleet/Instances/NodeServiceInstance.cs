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

    /// <summary>The version this instance should run when the node service's latest is <paramref name="latestVersion"/>.</summary>
    public int? TargetVersion(int? latestVersion) => Selector.Resolve(latestVersion);
}
