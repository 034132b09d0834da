using Pipeline.Fleet;
using Pipeline.Fleet.Rollout;
using Pipeline.Snapshots;

namespace Pipeline.Imports;

/// <summary>One image source as the user gave it; credentials only until they are put in the secret store.</summary>
public sealed record ImageSourceSpec(string Arch, string ImageReference, string? RegistryUser, string? RegistryPassword)
{
    public override string ToString() => $"ImageSourceSpec({Arch}, {ImageReference}, {(RegistryUser is null ? "anonymous" : RegistryUser + ":***")})";
}

/// <summary>
/// A validated <c>NodeServiceInput</c>. <see cref="Network"/> is null when the input named no
/// networking field: the service keeps (or starts with) what it has.
/// </summary>
/// <see cref="Policy"/> is null when the input gave no <c>rollout_policy</c>: the service keeps its own.
public sealed record NodeServiceSpec(string Name, IReadOnlyList<ImageSourceSpec> Sources, ServiceSettings Settings, NodeServiceNetwork? Network, RolloutPolicy? Policy = null);
