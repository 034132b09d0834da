namespace Pipeline.Fleet;

/// <summary>A node service as the catalog knows it: (customer, name) and its latest version.</summary>
public sealed record NodeService(
    string CustomerId,
    string NodeServiceId,
    string Name,
    int? ContainerVersion,
    string? ContainerImage,
    IReadOnlyList<string> Architectures)
{
    /// <summary>Networking fixed by the first import; <see cref="NodeServiceNetwork.None"/> when none was given.</summary>
    public NodeServiceNetwork Network { get; init; } = NodeServiceNetwork.None;
}
