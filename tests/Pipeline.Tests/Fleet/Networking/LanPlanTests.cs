using System.Net;
using Pipeline.Fleet;
using Pipeline.Fleet.Networking;
using Pipeline.Snapshots;

namespace Pipeline.Tests.Fleet.Networking;

/// <summary>The allocation rules of API.md, and the product documentation's examples.</summary>
public sealed class LanPlanTests
{
    private static LanPlan Plan(string? access, string? template = null, string? range = null) =>
        LanPlan.From(new NodeServiceNetwork(NodeServiceNetwork.Disabled, NodeServiceNetwork.Allocated, false, access, template, range));

    [Theory]
    [InlineData("192.168.0.0/24", "192.168.0.1/24", "192.168.0.2", "192.168.0.254")]
    [InlineData("192.168.0.100/24", "192.168.0.100/24", "192.168.0.101", "192.168.0.254")]
    [InlineData("192.168.0.200/24", "192.168.0.200/24", "192.168.0.1", "192.168.0.199")]
    [InlineData("10.0.0.0/16", "10.0.0.1/16", "10.0.0.2", "10.0.255.254")]
    public void SharedAllocation_FixedSubnet_FollowsTheDocumentedExamples(string access, string iface, string dhcpStart, string dhcpEnd)
    {
        var plan = Plan(access);

        var lan = plan.SharedAllocation();

        Assert.Equal(LanMode.Fixed, plan.Mode);
        Assert.Equal(iface, lan.InterfaceAddress);
        Assert.Equal(IPNetwork2.Parse(access).ToString(), lan.Subnet);
        Assert.Equal(dhcpStart, lan.DhcpRangeStart);
        Assert.Equal(dhcpEnd, lan.DhcpRangeEnd);
        Assert.Null(lan.Slot);
    }

    [Fact]
    public void ForSlot_Template_InterfaceOnAccessLengthInsideItsOwn24()
    {
        var plan = Plan("10.190.0.1/16", template: "10.190.0.1/24");

        var lan = plan.ForSlot(3);

        Assert.Equal(LanMode.PerInstance, plan.Mode);
        Assert.Equal(256, plan.SlotCount);
        Assert.Equal("10.190.3.1/16", lan.InterfaceAddress);
        Assert.Equal("10.190.3.0/24", lan.Subnet);
        Assert.Equal("10.190.3.2", lan.DhcpRangeStart);
        Assert.Equal("10.190.3.254", lan.DhcpRangeEnd);
        Assert.Equal(3, lan.Slot);
    }

    [Fact]
    public void ForSlot_EverySlotOfA16_IsADistinct24InsideIt()
    {
        var plan = Plan("10.190.0.1/16", template: "10.190.0.1/24");
        var access = IPNetwork2.Parse("10.190.0.0/16");

        var subnets = Enumerable.Range(0, 256).Select(s => plan.ForSlot(s)).ToList();

        Assert.Equal(256, subnets.Select(l => l.Subnet).Distinct().Count());
        foreach (var lan in subnets)
        {
            var subnet = IPNetwork2.Parse(lan.Subnet);
            Assert.Equal(24, subnet.Cidr);
            Assert.True(access.Contains(subnet));
            Assert.True(subnet.Contains(IPAddress.Parse(lan.DhcpRangeStart!)) && subnet.Contains(IPAddress.Parse(lan.DhcpRangeEnd!)));
            Assert.NotEqual(subnet.Network.ToString(), lan.DhcpRangeStart);
            Assert.NotEqual(subnet.Broadcast?.ToString(), lan.DhcpRangeEnd);
            Assert.EndsWith("/16", lan.InterfaceAddress, StringComparison.Ordinal);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.ForSlot(256));
    }

    [Theory]
    [InlineData("10.190.0.0/24", 7, "10.190.7.1/16", "10.190.7.2", "10.190.7.254")]
    [InlineData("10.190.0.254/24", 7, "10.190.7.254/16", "10.190.7.1", "10.190.7.253")]
    [InlineData("10.190.0.1/25", 3, "10.190.1.129/16", "10.190.1.130", "10.190.1.254")]
    public void ForSlot_TemplateHostPart_PlacesTheInterfaceAtTheSameOffset(string template, long slot, string iface, string start, string end)
    {
        var lan = Plan("10.190.0.1/16", template: template).ForSlot(slot);

        Assert.Equal(iface, lan.InterfaceAddress);
        Assert.Equal(start, lan.DhcpRangeStart);
        Assert.Equal(end, lan.DhcpRangeEnd);
    }

    [Theory]
    [InlineData("10.188.0.1/14", 1024)]
    [InlineData("10.190.0.1/15", 512)]
    [InlineData("10.190.0.1/16", 256)]
    [InlineData("10.190.0.1/24", 1)]
    public void SlotCount_IsTheNumberOf24sInTheAccessSubnet(string access, long count)
    {
        Assert.Equal(count, Plan(access, template: IPNetwork2.Parse(access).FirstUsable + "/24").SlotCount);
    }

    [Fact]
    public void SharedAllocation_DhcpRange_EveryInstanceUsesTheOneRange()
    {
        var plan = Plan("10.190.0.1/16", range: "10.190.0.1/24");

        var lan = plan.SharedAllocation();

        Assert.Equal(LanMode.Shared, plan.Mode);
        Assert.Equal("10.190.0.1/16", lan.InterfaceAddress);
        Assert.Equal("10.190.0.0/24", lan.Subnet);
        Assert.Equal("10.190.0.2", lan.DhcpRangeStart);
        Assert.Equal("10.190.0.254", lan.DhcpRangeEnd);
    }

    [Fact]
    public void From_NoAccessSubnet_IsNone()
    {
        Assert.Equal(LanMode.None, LanPlan.From(NodeServiceNetwork.None).Mode);
        Assert.Equal(0, LanPlan.From(NodeServiceNetwork.None).SlotCount);
    }

    [Theory]
    [InlineData("10.190.0.1", null, null, "access_provided_subnet")]
    [InlineData("10.190.0.256/16", null, null, "access_provided_subnet")]
    [InlineData("10.190.0.1/33", null, null, "access_provided_subnet")]
    [InlineData("10.190.1/16", null, null, "access_provided_subnet")]
    [InlineData("010.190.0.1/16", null, null, "access_provided_subnet")]
    [InlineData("fd00::1/64", null, null, "access_provided_subnet")]
    [InlineData("10.190.0.1/255.255.0.0", null, null, "access_provided_subnet")]
    [InlineData("192.168.0.255/24", null, null, "access_provided_subnet")]
    [InlineData("10.190.0.1/16", "10.0.0.1/8", null, "dhcp_range_template")]
    [InlineData("10.190.0.1/16", "10.191.0.1/24", null, "dhcp_range_template")]
    [InlineData("10.190.0.1/16", "10.190.0.1/31", null, "dhcp_range_template")]
    [InlineData("10.190.0.1/16", "10.190.0.255/24", null, "dhcp_range_template")]
    [InlineData("10.190.0.1/16", "not a cidr", null, "dhcp_range_template")]
    [InlineData("10.190.0.1/16", "10.190.0.1/24", "10.190.0.1/24", "dhcp_range")]
    [InlineData("10.190.0.1/16", null, "10.0.0.0/8", "dhcp_range")]
    [InlineData(null, "10.190.0.1/24", null, "dhcp_range_template")]
    [InlineData(null, null, "10.190.0.1/24", "dhcp_range")]
    public void From_InvalidSettings_IsBadInputNamingTheField(string? access, string? template, string? range, string field)
    {
        var network = new NodeServiceNetwork(NodeServiceNetwork.Disabled, NodeServiceNetwork.Allocated, false, access, template, range);

        var e = Assert.Throws<PipelineException>(() => LanPlan.From(network, "node_service_input."));

        Assert.Equal(ErrorCodes.BadInput, e.Code);
        Assert.StartsWith($"node_service_input.{field}:", e.Detail, StringComparison.Ordinal);
    }
}
