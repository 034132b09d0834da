using System.Net;
using System.Numerics;
using Pipeline.Snapshots;

namespace Pipeline.Fleet.Networking;

/// <summary>
/// The LAN allocation rules of API.md ("Network allocation rules"), as pure functions of a node
/// service's immutable networking settings (<see cref="NodeServiceNetwork"/>):
/// <list type="bullet">
/// <item><c>access_provided_subnet</c> alone (<see cref="LanMode.Fixed"/>): the interface is the
/// first usable address when the host part is zero (<c>192.168.0.0/24</c> → <c>192.168.0.1</c>),
/// else the given address (<c>192.168.0.100/24</c> → <c>192.168.0.100</c>).</item>
/// <item>+ <c>dhcp_range_template</c> (<see cref="LanMode.PerInstance"/>): each instance owns one
/// of the access subnet's ranges of the template's prefix length (slot <c>n</c> is the
/// <c>n</c>-th such range); its interface lies in that range at the template's host offset (the
/// first usable address when the template's host part is zero) with the access prefix length
/// (<c>10.190.0.1/16</c> + <c>10.190.0.1/24</c>, slot 3 → <c>10.190.3.1/16</c>, subnet
/// <c>10.190.3.0/24</c>). Which slot an instance owns is <see cref="LanLeaseStore"/>'s business.</item>
/// <item>+ <c>dhcp_range</c> (<see cref="LanMode.Shared"/>): the interface as for a fixed subnet,
/// and every instance hands out that one range.</item>
/// </list>
/// The DHCP range is the longest run of the subnet's usable addresses (network and broadcast
/// skipped) that does not contain the interface (gateway) address; none for a /32.
/// A LAN is allocated whenever <c>access_provided_subnet</c> is set: <c>lan_configure_network</c>
/// says how the device applies it, not whether the range is reserved.
/// </summary>
public sealed class LanPlan
{
    /// <summary>A range needs a network, a gateway, a broadcast address and at least one lease.</summary>
    public const int MaxRangePrefixLength = 30;

    public static readonly LanPlan None = new(LanMode.None, null, null);

    private LanPlan(LanMode mode, Ipv4Prefix? access, Ipv4Prefix? range)
    {
        Mode = mode;
        Access = access;
        Range = range;
    }

    public LanMode Mode { get; }

    /// <summary><c>access_provided_subnet</c>; null for <see cref="LanMode.None"/>.</summary>
    public Ipv4Prefix? Access { get; }

    /// <summary><c>dhcp_range_template</c> (per instance) or <c>dhcp_range</c> (shared); otherwise null.</summary>
    public Ipv4Prefix? Range { get; }

    /// <summary>How many per-instance ranges fit in the access subnet (256 /24s in a /16); 0 unless per instance.</summary>
    public long SlotCount => Mode == LanMode.PerInstance ? 1L << (Range!.Length - Access!.Length) : 0;

    /// <summary>
    /// The rules a node service's settings select. Invalid settings are <c>BAD_INPUT</c> naming
    /// the field, prefixed with <paramref name="fieldPrefix"/> (e.g. <c>node_service_input.</c>).
    /// </summary>
    public static LanPlan From(NodeServiceNetwork network, string fieldPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(network);
        string? template = Blank(network.DhcpRangeTemplate), range = Blank(network.DhcpRange);
        if (Blank(network.AccessProvidedSubnet) is not { } accessText)
        {
            return template is null && range is null
                ? None
                : throw Bad(fieldPrefix, template is not null ? "dhcp_range_template" : "dhcp_range", "needs access_provided_subnet");
        }
        var access = Parse(accessText, fieldPrefix, "access_provided_subnet");
        RequireHostAddress(access, fieldPrefix, "access_provided_subnet");
        if (template is not null && range is not null)
        {
            throw Bad(fieldPrefix, "dhcp_range", "give dhcp_range_template or dhcp_range, not both");
        }
        if (template is null && range is null)
        {
            return new LanPlan(LanMode.Fixed, access, null);
        }

        string field = template is not null ? "dhcp_range_template" : "dhcp_range";
        var shape = Parse(template ?? range!, fieldPrefix, field);
        if (shape.Length < access.Length)
        {
            throw Bad(fieldPrefix, field, $"/{shape.Length} is larger than the access subnet /{access.Length}");
        }
        if (!access.Network.Contains(shape.Network))
        {
            throw Bad(fieldPrefix, field, $"{shape.Network} is not inside the access subnet {access.Network}");
        }
        if (shape.Length > MaxRangePrefixLength)
        {
            throw Bad(fieldPrefix, field, $"/{shape.Length} leaves no addresses to hand out; use /{MaxRangePrefixLength} or shorter");
        }
        RequireHostAddress(shape, fieldPrefix, field);
        return new LanPlan(template is not null ? LanMode.PerInstance : LanMode.Shared, access, shape);
    }

    /// <summary>The one allocation every instance gets, for <see cref="LanMode.Fixed"/> and <see cref="LanMode.Shared"/>.</summary>
    public LanAllocation SharedAllocation()
    {
        var access = Access ?? throw new InvalidOperationException("No LAN to allocate.");
        var gateway = Gateway(access.Network, access.HostOffset);
        return Mode switch
        {
            LanMode.Fixed => Build(access.Network, gateway, access.Length, null),
            LanMode.Shared => Build(Range!.Network, gateway, access.Length, null),
            _ => throw new InvalidOperationException($"{Mode} has no shared allocation."),
        };
    }

    /// <summary>The allocation of per-instance range number <paramref name="slot"/> (0 ≤ slot &lt; <see cref="SlotCount"/>).</summary>
    public LanAllocation ForSlot(long slot)
    {
        if (Mode != LanMode.PerInstance)
        {
            throw new InvalidOperationException($"{Mode} has no per-instance ranges.");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, SlotCount);
        var subnet = Access!.Network.Subnet(Range!.Length)[slot];
        return Build(subnet, Gateway(subnet, Range.HostOffset), Access.Length, slot);
    }

    /// <summary>What the per-instance ranges are, for messages: "256 /24 ranges of 10.190.0.0/16".</summary>
    public string DescribeSlots() => $"{SlotCount} /{Range?.Length} ranges of {Access?.Network}";

    /// <summary>The interface address: the first usable address for a zero host part, else the same offset in <paramref name="subnet"/>.</summary>
    private static IPAddress Gateway(IPNetwork2 subnet, BigInteger hostOffset) =>
        hostOffset.IsZero ? subnet.FirstUsable : Ipv4Prefix.Add(subnet.Network, hostOffset);

    private static LanAllocation Build(IPNetwork2 subnet, IPAddress gateway, byte interfaceLength, long? slot)
    {
        // The longest run of usable addresses beside the gateway: with the gateway first
        // (the usual case) that is everything after it.
        BigInteger lo = IPNetwork2.ToBigInteger(subnet.FirstUsable), hi = IPNetwork2.ToBigInteger(subnet.LastUsable);
        BigInteger g = IPNetwork2.ToBigInteger(gateway);
        (BigInteger Start, BigInteger End)? run = g < lo || g > hi
            ? (lo, hi)
            : (g - lo) > (hi - g) ? (lo, g - 1) : g < hi ? (g + 1, hi) : null;
        return new LanAllocation(
            $"{gateway}/{interfaceLength}",
            subnet.ToString(),
            run is { } a ? IPNetwork2.ToIPAddress(a.Start, subnet.AddressFamily).ToString() : null,
            run is { } b ? IPNetwork2.ToIPAddress(b.End, subnet.AddressFamily).ToString() : null,
            slot);
    }

    private static Ipv4Prefix Parse(string text, string fieldPrefix, string field) =>
        Ipv4Prefix.TryParse(text, out var prefix)
            ? prefix
            : throw Bad(fieldPrefix, field, $"'{text}' is not an IPv4 prefix such as 10.190.0.1/16");

    /// <summary>The given address becomes an interface address: it cannot be the broadcast address.</summary>
    private static void RequireHostAddress(Ipv4Prefix prefix, string fieldPrefix, string field)
    {
        if (prefix.Length <= MaxRangePrefixLength && prefix.Address.Equals(prefix.Network.Broadcast))
        {
            throw Bad(fieldPrefix, field, $"{prefix.Address} is the broadcast address of {prefix.Network}");
        }
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static PipelineException Bad(string fieldPrefix, string field, string why) =>
        new(ErrorCodes.BadInput, $"{fieldPrefix}{field}: {why}.");
}
