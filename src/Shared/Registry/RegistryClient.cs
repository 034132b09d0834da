using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>
/// Pulls images from OCI distribution registries
/// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pull): resolves a tag or
/// digest through an index to one architecture's manifest and config, verifying every document's
/// digest and size, and streams blobs through a <see cref="VerifyingStream"/> over a
/// <see cref="ResumableBlobStream"/> (a dropped body is resumed with <c>Range</c> or restarted inside
/// the stream). Every connection passes <see cref="RegistryConnectGuard"/>. Token caches live in
/// the instance, keyed by tenant, registry, scope and user; register it as a singleton
/// (<see cref="RegistryServiceCollectionExtensions.AddPipelineRegistry"/>).
/// </summary>
public sealed class RegistryClient : IRegistryClient
{
    /// <summary>The name of the <see cref="HttpClient"/> this client takes from <see cref="IHttpClientFactory"/>.</summary>
    public const string HttpClientName = "registry";

    /// <summary>Manifest types asked for: OCI and Docker schema2, never schema1.</summary>
    private static readonly string[] ManifestAccept =
        [MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.DockerManifestList, MediaTypes.DockerManifest];

    private static readonly string[] AcceptAny = ["*/*"];

    private readonly RegistryAuthenticator _auth;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public RegistryClient(IHttpClientFactory httpClientFactory, IOptions<RegistryOptions> options, TimeProvider timeProvider, ILogger<RegistryClient> logger)
    {
        var settings = options.Value;
        var http = new RegistryHttp(httpClientFactory, settings, timeProvider, logger);
        var tokens = new BearerTokenService(http, settings, timeProvider, logger);
        _auth = new RegistryAuthenticator(http, tokens, new TokenCache(timeProvider), settings, timeProvider, logger);
        _options = settings;
        _time = timeProvider;
        _logger = logger;
    }

    public async Task<ResolvedImage> ResolveAsync(ImageReference reference, string arch, PullScope scope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(scope);
        var wanted = Architectures.ToPlatform(arch); // BAD_INPUT before any network I/O
        string name = $"{reference.Registry}/{reference.Repository}";

        var top = await FetchManifestAsync(reference, reference.ManifestReference, reference.Digest, scope, cancellationToken);
        var manifest = top;
        if (top.IsIndex)
        {
            var entries = top.Document.Manifests!;
            var entry = entries.FirstOrDefault(d => Architectures.Matches(arch, d.Platform));
            if (entry is null)
            {
                var offered = entries.Where(d => d.Platform is not null).Select(d => d.Platform!.ToString()).Distinct().ToList();
                throw new PipelineException(
                    ErrorCodes.ArchMismatch,
                    $"{reference} has no {arch} ({wanted}) image; it offers {(offered.Count == 0 ? "no platform-specific images" : string.Join(", ", offered))}.");
            }
            string what = $"the {arch} manifest {entry.Digest} of {name}";
            if (!MediaTypes.IsManifest(entry.MediaType))
            {
                throw ManifestParser.Invalid(what, $"the index lists it as '{entry.MediaType}', not as an image manifest");
            }
            CheckDocumentSize(entry.Size, what);
            manifest = await FetchManifestAsync(reference, entry.Digest.ToString(), entry.Digest, scope, cancellationToken);
            if (manifest.IsIndex || manifest.MediaType != entry.MediaType || manifest.Size != entry.Size)
            {
                throw ManifestParser.Invalid(what, "it does not agree with its index entry (media type or size)");
            }
        }

        var config = manifest.Document.Config!;
        string configWhat = $"the config {config.Digest} of {name}";
        if (config.MediaType is not (MediaTypes.OciConfig or MediaTypes.DockerConfig))
        {
            throw ManifestParser.Invalid($"the manifest {manifest.Digest} of {name}", $"its config type '{config.MediaType}' is not a container image config");
        }
        CheckDocumentSize(config.Size, configWhat);
        byte[] configBytes = await ReadSmallBlobAsync(reference, config, scope, cancellationToken);
        var warnings = new List<string>();
        var platform = ImageConfigCheck.Check(configBytes, arch, $"{reference}", warnings);

        _logger.ImageResolved(scope.TenantId, reference.Registry, reference.Repository, arch, manifest.Digest.ToString(), manifest.Document.Layers!.Count);
        return new ResolvedImage(
            reference,
            arch,
            new Descriptor(manifest.MediaType, manifest.Digest, manifest.Size) { Platform = platform },
            config with { Platform = null },
            // Descriptor urls (foreign layers) are not read at all: every blob comes from the registry.
            [.. manifest.Document.Layers!.Select(l => l with { Platform = null })])
        {
            Warnings = warnings,
        };
    }

    public async Task<Stream> OpenBlobAsync(ImageReference repository, Descriptor blob, PullScope scope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(scope);
        if (blob.Digest.IsEmpty || blob.Size < 0)
        {
            throw new PipelineException(ErrorCodes.BadInput, "A blob descriptor needs a sha256 digest and a non-negative size.");
        }
        _logger.BlobOpening(scope.TenantId, repository.Registry, repository.Repository, blob.Digest.ToString(), blob.Size);
        string what = $"{repository.Registry}/{repository.Repository}";
        string path = BlobPath(repository, blob.Digest);
        var response = await _auth.SendAsync(repository, HttpMethod.Get, path, AcceptAny, scope, cancellationToken);
        try
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw StatusError(response.StatusCode, repository, $"blob {blob.Digest}");
            }
            if (response.Content.Headers.ContentLength is long declared && declared != blob.Size)
            {
                throw new DigestMismatchException($"Blob {blob.Digest} of {what} does not match its descriptor: the registry announced {declared} bytes, the descriptor says {blob.Size}.");
            }
            var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            // A dropped body is resumed inside the stream; the caller just reads to the end.
            var resumable = new ResumableBlobStream(
                response, body, blob, repository,
                (from, ct) => _auth.SendAsync(repository, HttpMethod.Get, path, AcceptAny, scope, from, ct),
                _options, _time, _logger);
            var verifying = new VerifyingStream(resumable, blob.Digest, blob.Size, what);
            resumable.DeliveredHash = verifying.GetCurrentHash;
            return verifying;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async Task<bool> BlobExistsAsync(ImageReference repository, Digest digest, PullScope scope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(scope);
        if (digest.IsEmpty)
        {
            throw new PipelineException(ErrorCodes.BadInput, "A blob digest is required.");
        }
        using var response = await _auth.SendAsync(repository, HttpMethod.Head, BlobPath(repository, digest), AcceptAny, scope, cancellationToken);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            var status => throw StatusError(status, repository, $"blob {digest}"),
        };
    }

    private async Task<FetchedManifest> FetchManifestAsync(
        ImageReference repository, string reference, Digest? expected, PullScope scope, CancellationToken cancellationToken)
    {
        string what = $"the manifest {reference} of {repository.Registry}/{repository.Repository}";
        using var response = await _auth.SendAsync(
            repository, HttpMethod.Get, $"/v2/{repository.Repository}/manifests/{reference}", ManifestAccept, scope, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw StatusError(response.StatusCode, repository, $"manifest {reference}");
        }
        string? contentType = response.Content.Headers.ContentType?.MediaType;
        // Before the digest check: a signed schema1 body never hashes to its Docker-Content-Digest.
        ManifestParser.RejectSchema1(contentType?.ToLowerInvariant(), what);

        byte[] body = await BoundedContent.ReadAsync(
            response,
            BoundedContent.ManifestMaxBytes,
            () => new PipelineException(ErrorCodes.TooLarge, $"{what} is larger than 4 MiB."),
            repository.ApiHost,
            cancellationToken);
        var actual = Digest.Compute(body);
        if (expected is { } want && actual != want)
        {
            throw new DigestMismatchException($"{what} hashes to {actual}.");
        }
        var (mediaType, document) = ManifestParser.Parse(body, contentType, what);
        if (expected is null && DockerContentDigest(response) is { } announced && announced != actual)
        {
            throw new DigestMismatchException($"{what} hashes to {actual}, but the registry announced {announced}.");
        }
        return new FetchedManifest(mediaType, actual, body.Length, document);
    }

    private async Task<byte[]> ReadSmallBlobAsync(ImageReference repository, Descriptor blob, PullScope scope, CancellationToken cancellationToken)
    {
        await using var stream = await OpenBlobAsync(repository, blob, scope, cancellationToken);
        try
        {
            // The VerifyingStream enforces size and digest; the cap only bounds memory.
            return await BoundedContent.ReadAsync(
                stream, BoundedContent.ManifestMaxBytes, (int)blob.Size,
                () => new PipelineException(ErrorCodes.TooLarge, $"Blob {blob.Digest} is larger than 4 MiB."), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new PipelineException(ErrorCodes.RegistryUnreachable, $"The connection to {repository.ApiHost} broke while reading blob {blob.Digest}.", ex);
        }
    }

    private static Digest? DockerContentDigest(HttpResponseMessage response)
    {
        // Only sha256 can be compared; another algorithm's digest is not a claim this client can check.
        if (response.Headers.NonValidated.TryGetValues("Docker-Content-Digest", out var values))
        {
            foreach (string value in values)
            {
                if (Digest.TryParse(value.Trim(), out var d))
                {
                    return d;
                }
            }
        }
        return null;
    }

    private static void CheckDocumentSize(long size, string what)
    {
        if (size > BoundedContent.ManifestMaxBytes)
        {
            throw new PipelineException(ErrorCodes.TooLarge, $"{what} is {size} bytes, more than the 4 MiB allowed.");
        }
    }

    private static string BlobPath(ImageReference repository, Digest digest) => $"/v2/{repository.Repository}/blobs/{digest}";

    internal static PipelineException StatusError(HttpStatusCode status, ImageReference repository, string what) => status switch
    {
        HttpStatusCode.NotFound => new PipelineException(ErrorCodes.ImageNotFound, $"{repository.Registry}/{repository.Repository} has no {what}."),
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new PipelineException(
            ErrorCodes.RegistryAuthFailed, $"{repository.Registry} denied access to {what} of {repository.Repository}."),
        _ => new PipelineException(ErrorCodes.RegistryUnreachable, $"{repository.Registry} answered {(int)status} for {what} of {repository.Repository}."),
    };
}
