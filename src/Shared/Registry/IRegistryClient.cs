using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>Pull side of the OCI distribution spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pull).</summary>
public interface IRegistryClient
{
    /// <summary>Resolves a reference to the manifest of <paramref name="arch"/> (API.md names), checking the config's architecture.</summary>
    Task<ResolvedImage> ResolveAsync(ImageReference reference, string arch, PullScope scope, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a blob as a stream that verifies size and sha256 while it is read and throws
    /// <see cref="DigestMismatchException"/> (or a size error) at the end or at size+1 bytes. A connection
    /// that drops or stalls mid-body is resumed inside the stream (<c>Range</c> on an exact 206, else a
    /// verified restart); after <see cref="RegistryOptions.BlobResumeAttempts"/> attempts without progress
    /// a read throws <c>REGISTRY_UNREACHABLE</c>.
    /// </summary>
    Task<Stream> OpenBlobAsync(ImageReference repository, Descriptor blob, PullScope scope, CancellationToken cancellationToken);

    /// <summary>Whether the registry serves this blob to this scope (HEAD), for cross-tenant linking.</summary>
    Task<bool> BlobExistsAsync(ImageReference repository, Digest digest, PullScope scope, CancellationToken cancellationToken);
}
