using System.Text.Json.Serialization;

namespace Pipeline.Snapshots;

/// <summary>
/// A node service's networking settings (API.md <c>NodeServiceInput</c>): fixed by its first
/// import and inherited by later ones. Values are as the user gave them, validated. Kept with the
/// snapshot records that carry it, so Snapshots needs nothing from Fleet (Fleet reads Snapshots).
/// </summary>
public sealed record NodeServiceNetwork(
    [property: JsonPropertyName("wan_configure_network")] string WanConfigureNetwork,
    [property: JsonPropertyName("lan_configure_network")] string LanConfigureNetwork,
    [property: JsonPropertyName("masquerade")] bool Masquerade,
    [property: JsonPropertyName("access_provided_subnet")] string? AccessProvidedSubnet,
    [property: JsonPropertyName("dhcp_range_template")] string? DhcpRangeTemplate,
    [property: JsonPropertyName("dhcp_range")] string? DhcpRange)
{
    public const string Disabled = "disabled";
    public const string Allocated = "allocated";
    public const string Dhcp = "dhcp";

    public static readonly NodeServiceNetwork None = new(Disabled, Disabled, false, null, null, null);
}
