using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;

namespace Pipeline.Registry;

/// <summary>A token endpoint's answer (https://distribution.github.io/distribution/spec/auth/token/#token-response-fields).</summary>
internal sealed record TokenResponse(
    [property: JsonPropertyName("token")] string? Token,
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("expires_in")] int? ExpiresIn);

/// <summary>
/// Obtains a bearer token for <c>repository:&lt;repo&gt;:pull</c> from the realm named in a
/// <c>Bearer</c> challenge (Docker token authentication spec,
/// https://distribution.github.io/distribution/spec/auth/token/), presenting Basic credentials when given.
/// </summary>
internal sealed class BearerTokenService(RegistryHttp http, RegistryOptions options, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromSeconds(60);
    private static readonly string[] AcceptJson = ["application/json"];

    public async Task<CachedAuth> FetchAsync(AuthChallenge challenge, AuthKey key, RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        var realm = ValidateRealm(challenge["realm"], key.Registry);
        var query = new StringBuilder(realm.Query.Length > 1 ? realm.Query[1..] + "&" : "");
        if (challenge["service"] is { Length: > 0 } service)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }
        query.Append("scope=").Append(Uri.EscapeDataString(key.Scope));
        var uri = new UriBuilder(realm) { Query = query.ToString() }.Uri;

        string? authorization = credentials is null ? null : BasicAuthorization(credentials);
        using var response = await http.SendAsync(HttpMethod.Get, uri, AcceptJson, authorization, rangeFrom: null, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new PipelineException(
                ErrorCodes.RegistryAuthFailed,
                credentials is null
                    ? $"The token service of {key.Registry} refused an anonymous token for {key.Scope}; the image may need credentials."
                    : $"The token service of {key.Registry} refused the credentials of user '{credentials.Username}' for {key.Scope}.");
        }
        if (!response.IsSuccessStatusCode)
        {
            throw new PipelineException(ErrorCodes.RegistryAuthFailed, $"The token service of {key.Registry} answered {(int)response.StatusCode}.");
        }

        byte[] body = await BoundedContent.ReadAsync(
            response,
            BoundedContent.TokenMaxBytes,
            () => new PipelineException(ErrorCodes.RegistryAuthFailed, $"The token service of {key.Registry} sent more than 1 MiB."),
            realm.Authority,
            cancellationToken);
        TokenResponse? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(body, RegistryJsonContext.Default.TokenResponse);
        }
        catch (JsonException)
        {
            parsed = null;
        }
        string? token = parsed?.Token is { Length: > 0 } t ? t : parsed?.AccessToken;
        if (string.IsNullOrEmpty(token))
        {
            throw new PipelineException(ErrorCodes.RegistryAuthFailed, $"The token service of {key.Registry} answered without a token.");
        }

        var lifetime = parsed!.ExpiresIn is int seconds && seconds > 0 ? TimeSpan.FromSeconds(seconds) : DefaultLifetime;
        // Renew a little early so a token does not expire between the cache lookup and the request.
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, lifetime.Ticks / 5));
        logger.TokenObtained(key.TenantId, key.Registry, key.Scope, (int)lifetime.TotalSeconds);
        return new CachedAuth(token, time.GetUtcNow() + lifetime - margin);
    }

    public static string BasicAuthorization(RegistryCredentials credentials) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Password}"));

    private Uri ValidateRealm(string? realm, string registry)
    {
        if (!Uri.TryCreate(realm, UriKind.Absolute, out var uri))
        {
            throw new PipelineException(ErrorCodes.RegistryAuthFailed, $"{registry} asked for a bearer token but named no valid token realm.");
        }
        bool https = uri.Scheme == Uri.UriSchemeHttps;
        bool allowedHttp = uri.Scheme == Uri.UriSchemeHttp && options.IsInsecure(uri.Authority);
        if ((!https && !allowedHttp) || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            // Checked before any request: credentials must not travel in clear text or to a URL with embedded user info.
            throw new PipelineException(
                ErrorCodes.RegistryAuthFailed,
                $"{registry} named the token realm {uri.Scheme}://{uri.Authority}, which is refused: it must be HTTPS without user info (plain HTTP only for hosts in Pipeline__Registry__InsecureHosts).");
        }
        return uri;
    }
}
