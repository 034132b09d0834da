namespace Pipeline.Fleet.Instances;

/// <summary>An instance as the API shows it: with the version its selector resolves to now.</summary>
public sealed record InstanceView(NodeServiceInstance Instance, int? TargetVersion);
