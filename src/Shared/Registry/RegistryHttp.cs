using System.Net;
using Microsoft.Extensions.Logging;

namespace Pipeline.Registry;

/// <summary>
/// Sends one registry request: follows redirects itself (dropping <c>Authorization</c> when the
/// origin changes, distribution-spec "Pull blobs" allows redirects to other hosts) and retries
/// connection failures, timeouts and 5xx a couple of times before <c>REGISTRY_UNREACHABLE</c>.
/// Authentication is <see cref="RegistryAuthenticator"/>'s concern.
/// </summary>
internal sealed class RegistryHttp(IHttpClientFactory httpClientFactory, RegistryOptions options, TimeProvider time, ILogger logger)
{
    private const int MaxRedirects = 5;

    public async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, Uri uri, IReadOnlyList<string> accept, string? authorization, CancellationToken cancellationToken)
    {
        var client = httpClientFactory.CreateClient(RegistryClient.HttpClientName);
        for (int redirects = 0; ; redirects++)
        {
            var response = await SendWithRetriesAsync(client, method, uri, accept, authorization, cancellationToken);
            if (!IsRedirect(response.StatusCode))
            {
                return response;
            }
            var location = response.Headers.Location;
            var status = response.StatusCode;
            response.Dispose();
            if (location is null)
            {
                throw Unreachable(uri, $"answered {(int)status} without a Location header");
            }
            if (redirects >= MaxRedirects)
            {
                throw Unreachable(uri, $"redirected more than {MaxRedirects} times");
            }
            var next = location.IsAbsoluteUri ? location : new Uri(uri, location);
            CheckRedirectTarget(uri, next);
            if (!SameOrigin(uri, next))
            {
                // Credentials for the registry must not reach a storage or CDN host.
                authorization = null;
            }
            if (status == HttpStatusCode.SeeOther && method != HttpMethod.Head)
            {
                method = HttpMethod.Get;
            }
            logger.RedirectFollowed(uri.Authority, next.Authority);
            uri = next;
        }
    }

    private async Task<HttpResponseMessage> SendWithRetriesAsync(
        HttpClient client, HttpMethod method, Uri uri, IReadOnlyList<string> accept, string? authorization, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            bool last = attempt >= options.TransientRetryCount;
            using var request = new HttpRequestMessage(method, uri);
            foreach (string mediaType in accept)
            {
                request.Headers.Accept.ParseAdd(mediaType);
            }
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            string failure;
            Exception? inner = null;
            try
            {
                var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (!IsTransient(response.StatusCode))
                {
                    return response;
                }
                failure = $"answered {(int)response.StatusCode} {response.ReasonPhrase}";
                response.Dispose();
            }
            catch (HttpRequestException ex)
            {
                failure = $"could not be reached ({ex.HttpRequestError})";
                inner = ex;
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                failure = $"sent no response within {options.ResponseHeadersTimeout.TotalSeconds:0} s";
                inner = ex;
            }

            logger.TransientFailure(uri.Authority, attempt + 1, failure);
            if (last)
            {
                throw Unreachable(uri, failure, inner);
            }
            await Task.Delay(options.TransientRetryDelay * (attempt + 1), time, cancellationToken);
        }
    }

    private void CheckRedirectTarget(Uri from, Uri to)
    {
        bool https = to.Scheme == Uri.UriSchemeHttps;
        bool allowedHttp = to.Scheme == Uri.UriSchemeHttp && options.IsInsecure(to.Authority);
        if ((!https && !allowedHttp) || to.UserInfo.Length > 0)
        {
            throw new PipelineException(
                ErrorCodes.HostNotAllowed,
                $"{from.Authority} redirected to {to.Scheme}://{to.Authority}, which is not allowed: only HTTPS, without user info, unless the host is listed in Pipeline__Registry__InsecureHosts.");
        }
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static bool IsRedirect(HttpStatusCode status) => status is
        HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther or
        HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    // 429 is retried quickly here too; honouring Retry-After is a separate concern.
    private static bool IsTransient(HttpStatusCode status) =>
        (int)status >= 500 || status == HttpStatusCode.TooManyRequests || status == HttpStatusCode.RequestTimeout;

    // Only the authority: a redirect URL's query may carry a signature.
    private static PipelineException Unreachable(Uri uri, string what, Exception? inner = null) =>
        new(ErrorCodes.RegistryUnreachable, $"{uri.Authority} {what}.", inner);
}
