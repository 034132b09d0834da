using Microsoft.Extensions.Logging;

namespace Pipeline.Registry;

/// <summary>Source-generated log messages of the registry client. Hosts and digests only: never a credential, token or signed URL.</summary>
internal static partial class RegistryLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "Resolved {Registry}/{Repository} for tenant {TenantId}, arch {Arch}: manifest {ManifestDigest}, {LayerCount} layers")]
    public static partial void ImageResolved(this ILogger logger, string tenantId, string registry, string repository, string arch, string manifestDigest, int layerCount);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug,
        Message = "Obtained a bearer token for tenant {TenantId} from the token service of {Registry}, scope {Scope}, valid {LifetimeSeconds} s")]
    public static partial void TokenObtained(this ILogger logger, string tenantId, string registry, string scope, int lifetimeSeconds);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information,
        Message = "{Registry} rejected the cached authorization of tenant {TenantId} for {Repository}; renewing it once")]
    public static partial void AuthorizationRejected(this ILogger logger, string tenantId, string registry, string repository);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning,
        Message = "Registry request to {Host} failed (attempt {Attempt}): {Failure}")]
    public static partial void TransientFailure(this ILogger logger, string host, int attempt, string failure);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug,
        Message = "{FromHost} redirected to {ToHost}")]
    public static partial void RedirectFollowed(this ILogger logger, string fromHost, string toHost);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Debug,
        Message = "Opening blob {Digest} ({Size} bytes) of {Registry}/{Repository} for tenant {TenantId}")]
    public static partial void BlobOpening(this ILogger logger, string tenantId, string registry, string repository, string digest, long size);
}
