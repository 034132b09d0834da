namespace Pipeline.Fleet.Networking;

/// <summary>Which of API.md's allocation rules a node service's networking settings select.</summary>
public enum LanMode
{
    /// <summary>No <c>access_provided_subnet</c>: the instance gets no LAN allocation.</summary>
    None,

    /// <summary><c>access_provided_subnet</c> alone: every instance uses that subnet.</summary>
    Fixed,

    /// <summary><c>access_provided_subnet</c> + <c>dhcp_range_template</c>: a range of its own per instance.</summary>
    PerInstance,

    /// <summary><c>access_provided_subnet</c> + <c>dhcp_range</c>: every instance hands out that one range.</summary>
    Shared,
}
