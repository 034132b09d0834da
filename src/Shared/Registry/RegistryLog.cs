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

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning,
        Message = "Refused to connect to {Authority}: it resolves to {Address}, {Reason}")]
    public static partial void HostRefused(this ILogger logger, string authority, string address, string reason);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning,
        Message = "Blob {Digest} from {Registry}/{Repository} broke off at byte {Position} of {Size} (attempt {Attempt} without progress): {Failure}")]
    public static partial void BlobBroken(this ILogger logger, string registry, string repository, string digest, long position, long size, int attempt, string failure);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information,
        Message = "Blob {Digest} from {Registry}/{Repository}: {How} at byte {Position}")]
    public static partial void BlobReconnected(this ILogger logger, string registry, string repository, string digest, string how, long position);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information,
        Message = "{Host} asked to retry after {RetryAfterSeconds} s (status {Status}); waiting")]
    public static partial void RetryAfterWaiting(this ILogger logger, string host, double retryAfterSeconds, int status);
}
