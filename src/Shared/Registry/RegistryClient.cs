using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>Credentials for one registry. Lives only for the duration of a call; never serialized or logged.</summary>
public sealed class RegistryCredentials(string username, string password)
{
    public string Username { get; } = username;
    public string Password { get; } = password;
    public override string ToString() => $"RegistryCredentials({Username}, ***)";
}

/// <summary>One architecture of an image, resolved from its tag or digest down to its layers.</summary>
public sealed record ResolvedImage(
    ImageReference Reference,
    string Arch,
    Descriptor Manifest,
    Descriptor Config,
    IReadOnlyList<Descriptor> Layers);

/// <summary>Who is pulling: token caches are keyed by this, never shared across tenants.</summary>
public sealed record PullScope(string TenantId, RegistryCredentials? Credentials);

/// <summary>Pull side of the OCI distribution spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pull).</summary>
public interface IRegistryClient
{
    /// <summary>Resolves a reference to the manifest of <paramref name="arch"/> (API.md names), checking the config's architecture.</summary>
    Task<ResolvedImage> ResolveAsync(ImageReference reference, string arch, PullScope scope, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a blob as a stream that verifies size and sha256 while it is read and throws
    /// <see cref="DigestMismatchException"/> (or a size error) at the end or at size+1 bytes.
    /// </summary>
    Task<Stream> OpenBlobAsync(ImageReference repository, Descriptor blob, PullScope scope, CancellationToken cancellationToken);

    /// <summary>Whether the registry serves this blob to this scope (HEAD), for cross-tenant linking.</summary>
    Task<bool> BlobExistsAsync(ImageReference repository, Digest digest, PullScope scope, CancellationToken cancellationToken);
}
