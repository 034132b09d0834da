using System.Net;
using Microsoft.Extensions.Logging;
using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>
/// Sends a request to a repository with the right authorization: anonymous first (or what the
/// cache remembers), then, on a 401, Basic or a Bearer token as the registry's challenge asks
/// (distribution-spec "Authentication"; Docker token spec). One retry per request: a cached
/// token the registry rejects is dropped and replaced once.
/// </summary>
internal sealed class RegistryAuthenticator(RegistryHttp http, BearerTokenService tokens, TokenCache cache, RegistryOptions options, TimeProvider time, ILogger logger)
{
    private readonly CredentialFingerprint _fingerprint = new();

    // How long to remember that a registry wants Basic, so later requests send it without a 401 first.
    private static readonly TimeSpan BasicMemory = TimeSpan.FromMinutes(10);

    public Task<HttpResponseMessage> SendAsync(
        ImageReference repository, HttpMethod method, string path, IReadOnlyList<string> accept, PullScope scope, CancellationToken cancellationToken) =>
        SendAsync(repository, method, path, accept, scope, rangeFrom: null, cancellationToken);

    /// <summary>The same, with <c>Range: bytes=N-</c> when <paramref name="rangeFrom"/> is set (resuming a blob).</summary>
    public async Task<HttpResponseMessage> SendAsync(
        ImageReference repository, HttpMethod method, string path, IReadOnlyList<string> accept, PullScope scope, long? rangeFrom, CancellationToken cancellationToken)
    {
        var uri = new Uri(options.BaseUri(repository), path);
        var key = new AuthKey(
            scope.TenantId, repository.ApiHost, $"repository:{repository.Repository}:pull", scope.Credentials?.Username, _fingerprint.Of(scope.Credentials));
        var cached = cache.Get(key);
        string? authorization = ToAuthorization(cached, scope.Credentials);
        if (authorization is null)
        {
            cached = null;
        }

        for (int attempt = 0; ; attempt++)
        {
            var response = await http.SendAsync(method, uri, accept, authorization, rangeFrom, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                return response;
            }
            var challenges = AuthChallenge.FromResponse(response);
            response.Dispose();
            if (cached is not null)
            {
                cache.Remove(key, cached);
                logger.AuthorizationRejected(scope.TenantId, repository.ApiHost, repository.Repository);
                cached = null;
            }
            if (attempt > 0)
            {
                throw new PipelineException(
                    ErrorCodes.RegistryAuthFailed,
                    scope.Credentials is null
                        ? $"{repository.Registry} refused anonymous access to {repository.Repository}; the image may need credentials."
                        : $"{repository.Registry} refused the credentials of user '{scope.Credentials.Username}' for {repository.Repository}.");
            }
            cached = await AuthorizeAsync(challenges, key, repository, scope.Credentials, cancellationToken);
            cache.Set(key, cached);
            authorization = ToAuthorization(cached, scope.Credentials);
        }
    }

    private async Task<CachedAuth> AuthorizeAsync(
        IReadOnlyList<AuthChallenge> challenges, AuthKey key, ImageReference repository, RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        // Prefer Bearer: a registry offering both issues scoped tokens, and the password then goes to its token service only.
        if (challenges.FirstOrDefault(c => c.Is("Bearer")) is { } bearer)
        {
            return await tokens.FetchAsync(bearer, key, credentials, cancellationToken);
        }
        if (challenges.Any(c => c.Is("Basic")))
        {
            if (credentials is null)
            {
                throw new PipelineException(ErrorCodes.RegistryAuthFailed, $"{repository.Registry} requires a user name and password for {repository.Repository}.");
            }
            return new CachedAuth(null, time.GetUtcNow() + BasicMemory);
        }
        string offered = challenges.Count == 0 ? "no WWW-Authenticate challenge" : string.Join(", ", challenges.Select(c => c.Scheme));
        throw new PipelineException(ErrorCodes.RegistryAuthFailed, $"{repository.Registry} answered 401 for {repository.Repository} with {offered}; only Basic and Bearer are supported.");
    }

    private static string? ToAuthorization(CachedAuth? cached, RegistryCredentials? credentials) => cached switch
    {
        null => null,
        { IsBasic: true } => credentials is null ? null : BearerTokenService.BasicAuthorization(credentials),
        _ => "Bearer " + cached.BearerToken,
    };
}
