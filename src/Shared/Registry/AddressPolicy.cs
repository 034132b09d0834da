using System.Net;
using System.Net.Sockets;

namespace Pipeline.Registry;

/// <summary>
/// Which IP addresses a registry, token realm or redirect target may resolve to (TEST-MATRIX row 16):
/// only globally routable unicast. Loopback, private (RFC 1918, IPv6 unique-local), shared address
/// space (RFC 6598 "CGNAT"), link-local (cloud metadata at 169.254.169.254), the Azure platform
/// address 168.63.129.16, multicast and reserved ranges are refused, including when they are
/// wrapped in an IPv6 form (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
/// (IANA special-purpose address registries, RFC 6890.)
/// </summary>
internal static class AddressPolicy
{
    /// <summary>Null when <paramref name="address"/> may be connected to, else why not (for the error message).</summary>
    public static string? Refusal(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return RefuseV4(b);
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            Span<byte> b = stackalloc byte[16];
            address.TryWriteBytes(b, out _);
            return RefuseV6(b);
        }
        return "not an IP address";
    }

    private static string? RefuseV4(ReadOnlySpan<byte> b) => (b[0], b[1]) switch
    {
        (0, _) => "an unspecified ('this network') address",
        (10, _) => "a private address",
        (100, >= 64 and <= 127) => "a shared (carrier-grade NAT) address",
        (127, _) => "a loopback address",
        (169, 254) => "a link-local address (cloud metadata services live here)",
        (172, >= 16 and <= 31) => "a private address",
        (192, 0) when b[2] == 0 => "an IETF protocol address",
        (192, 168) => "a private address",
        (198, 18 or 19) => "a benchmarking-network address",
        ( >= 224, _) => "a multicast, reserved or broadcast address",
        (168, 63) when b[2] == 129 && b[3] == 16 => "the Azure platform address",
        _ => null,
    };

    private static string? RefuseV6(ReadOnlySpan<byte> b)
    {
        bool firstTenZero = b[..10].IndexOfAnyExcept((byte)0) < 0;
        if (firstTenZero && b[10] == 0xff && b[11] == 0xff)
        {
            return Wrapped("IPv4-mapped", b[12..]);
        }
        if (firstTenZero && b[10] == 0 && b[11] == 0)
        {
            // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
            if (b[12..15].IndexOfAnyExcept((byte)0) < 0 && b[15] <= 1)
            {
                return b[15] == 0 ? "the unspecified address" : "a loopback address";
            }
            return Wrapped("IPv4-compatible", b[12..]);
        }
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)
        {
            // 64:ff9b::/96 is the well-known NAT64 prefix; 64:ff9b:1::/48 is for local use only.
            return b[4..12].IndexOfAnyExcept((byte)0) < 0 ? Wrapped("NAT64", b[12..]) : "a local-use NAT64 address";
        }
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return Wrapped("6to4", b[2..6]);
        }
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        {
            return "a Teredo address";
        }
        if (b[0] == 0x01 && b[1] == 0x00 && b[2..8].IndexOfAnyExcept((byte)0) < 0)
        {
            return "a discard-only address";
        }
        if ((b[0] & 0xfe) == 0xfc)
        {
            return "a unique-local (private) address";
        }
        if (b[0] == 0xfe && (b[1] & 0xc0) is 0x80 or 0xc0)
        {
            return "a link-local or site-local address";
        }
        if (b[0] == 0xff)
        {
            return "a multicast address";
        }
        return null;
    }

    private static string? Wrapped(string form, ReadOnlySpan<byte> v4) =>
        RefuseV4(v4) is { } why ? $"{why} in {form} form" : null;
}
