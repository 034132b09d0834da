namespace Pipeline.Fleet.Networking;

/// <summary>
/// An instance's LAN settings (API.md <c>LanAllocation</c>): the interface address with its
/// prefix length (<c>10.190.3.1/16</c>), the subnet the instance's DHCP server serves
/// (<c>10.190.3.0/24</c>) and the range it hands out. <see cref="Slot"/> is the index of the
/// per-instance range claimed in <see cref="LanLeaseStore"/>, null for fixed and shared ranges.
/// </summary>
public sealed record LanAllocation(
    string InterfaceAddress,
    string Subnet,
    string? DhcpRangeStart,
    string? DhcpRangeEnd,
    long? Slot);
