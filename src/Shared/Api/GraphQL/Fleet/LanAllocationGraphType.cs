using GraphQL.Types;
using Pipeline.Fleet.Networking;

namespace Pipeline.Api.GraphQL.Fleet;

/// <summary>API.md <c>LanAllocation</c>: interface address with prefix length, subnet, DHCP range.</summary>
public sealed class LanAllocationGraphType : ObjectGraphType<LanAllocation>
{
    public LanAllocationGraphType()
    {
        Name = "LanAllocation";
        Field<NonNullGraphType<StringGraphType>>("interface_address").Resolve(c => c.Source.InterfaceAddress);
        Field<StringGraphType>("dhcp_range_start").Resolve(c => c.Source.DhcpRangeStart);
        Field<StringGraphType>("dhcp_range_end").Resolve(c => c.Source.DhcpRangeEnd);
        Field<NonNullGraphType<StringGraphType>>("subnet").Resolve(c => c.Source.Subnet);
    }
}
