using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace Pipeline.Fleet.Networking;

/// <summary>
/// An IPv4 prefix as a user writes it in a node service's networking settings
/// (<c>10.190.0.1/16</c>): the address given, host bits included, and the network it lies in.
/// The network maths is <see cref="IPNetwork2"/>'s; this type only keeps the given address,
/// which the allocation rules of API.md ("Network allocation rules") need.
/// </summary>
public sealed record Ipv4Prefix(IPAddress Address, IPNetwork2 Network)
{
    /// <summary>The prefix length (<c>16</c> in <c>10.190.0.1/16</c>).</summary>
    public byte Length => Network.Cidr;

    /// <summary>
    /// Parses a dotted-quad address and a prefix length, nothing else: no netmask form, no
    /// guessed length, no leading zeros, no IPv6.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Ipv4Prefix? prefix)
    {
        prefix = null;
        if (string.IsNullOrEmpty(text) || text.Length > 18)
        {
            return false;
        }
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }
        string addressText = text[..slash], lengthText = text[(slash + 1)..];
        if (!IPAddress.TryParse(addressText, out var address)
            || address.AddressFamily != AddressFamily.InterNetwork
            // IPAddress also reads "10.1" and octal-looking "010.0.0.1": only the canonical form.
            || !string.Equals(address.ToString(), addressText, StringComparison.Ordinal))
        {
            return false;
        }
        if (lengthText.Length is 0 or > 2
            || !byte.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out byte length)
            || length > 32
            || !IPNetwork2.TryParse(addressText, length, out var network))
        {
            return false;
        }
        prefix = new Ipv4Prefix(address, network);
        return true;
    }

    /// <summary>How far the given address lies from the network address (0 when its host part is zero).</summary>
    public BigInteger HostOffset => IPNetwork2.ToBigInteger(Address) - IPNetwork2.ToBigInteger(Network.Network);

    /// <summary>The address <paramref name="offset"/> after <paramref name="address"/>.</summary>
    public static IPAddress Add(IPAddress address, BigInteger offset) =>
        IPNetwork2.ToIPAddress(IPNetwork2.ToBigInteger(address) + offset, AddressFamily.InterNetwork);

    public override string ToString() => $"{Address}/{Length}";
}
