namespace Pipeline.Imports;

/// <summary>One image source as the user gave it; credentials only until they are put in the secret store.</summary>
public sealed record ImageSourceSpec(string Arch, string ImageReference, string? RegistryUser, string? RegistryPassword)
{
    public override string ToString() => $"ImageSourceSpec({Arch}, {ImageReference}, {(RegistryUser is null ? "anonymous" : RegistryUser + ":***")})";
}

/// <summary>A validated <c>NodeServiceInput</c>.</summary>
public sealed record NodeServiceSpec(string Name, IReadOnlyList<ImageSourceSpec> Sources);
