using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Pipeline.Registry;

/// <summary>
/// Sends one registry request: follows redirects itself (dropping <c>Authorization</c> when the
/// origin changes; distribution-spec "Pull blobs" allows redirects to other hosts, and every hop
/// passes <see cref="RegistryConnectGuard"/>) and retries connection failures, timeouts, 5xx and 429
/// with a Polly retry pipeline: exponential backoff with jitter, or the server's <c>Retry-After</c>
/// (seconds or HTTP-date) when it sends one and it is at most <see cref="RegistryOptions.MaxRetryAfter"/>.
/// A longer <c>Retry-After</c> fails at once with <c>REGISTRY_UNREACHABLE</c> naming the wait
/// (TEST-MATRIX row 13). Authentication is <see cref="RegistryAuthenticator"/>'s concern.
/// </summary>
internal sealed class RegistryHttp
{
    private const int MaxRedirects = 5;

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;

    public RegistryHttp(IHttpClientFactory httpClientFactory, RegistryOptions options, TimeProvider time, ILogger logger)
    {
        _httpClientFactory = httpClientFactory;
        _options = options;
        _time = time;
        _logger = logger;
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (options.TransientRetryCount > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.TransientRetryCount,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.TransientRetryDelay,
                MaxDelay = options.MaxRetryAfter > options.TransientRetryDelay ? options.MaxRetryAfter : options.TransientRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context.CancellationToken)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } r ? RetryAfter(r) : null),
                OnRetry = args =>
                {
                    string host = args.Context.OperationKey ?? "registry";
                    if (args.Outcome.Result is { } r && RetryAfter(r) is { } wait)
                    {
                        _logger.RetryAfterWaiting(host, wait.TotalSeconds, (int)r.StatusCode);
                    }
                    _logger.TransientFailure(host, args.AttemptNumber + 1, Describe(args.Outcome));
                    return ValueTask.CompletedTask;
                },
            });
        }
        _retry = builder.Build();
    }

    /// <summary>Sends the request; with <paramref name="rangeFrom"/> it asks for the bytes from that offset on (<c>Range: bytes=N-</c>).</summary>
    public async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, Uri uri, IReadOnlyList<string> accept, string? authorization, long? rangeFrom, CancellationToken cancellationToken)
    {
        var client = _httpClientFactory.CreateClient(RegistryClient.HttpClientName);
        for (int redirects = 0; ; redirects++)
        {
            var response = await SendWithRetriesAsync(client, method, uri, accept, authorization, rangeFrom, cancellationToken);
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
            _logger.RedirectFollowed(uri.Authority, next.Authority);
            uri = next;
        }
    }

    private async Task<HttpResponseMessage> SendWithRetriesAsync(
        HttpClient client, HttpMethod method, Uri uri, IReadOnlyList<string> accept, string? authorization, long? rangeFrom, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(uri.Authority, cancellationToken);
        HttpResponseMessage response;
        try
        {
            response = await _retry.ExecuteAsync(
                async ctx =>
                {
                    using var request = new HttpRequestMessage(method, uri);
                    foreach (string mediaType in accept)
                    {
                        request.Headers.Accept.ParseAdd(mediaType);
                    }
                    if (authorization is not null)
                    {
                        request.Headers.TryAddWithoutValidation("Authorization", authorization);
                    }
                    if (rangeFrom is long from)
                    {
                        request.Headers.Range = new RangeHeaderValue(from, null);
                    }
                    return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.CancellationToken).ConfigureAwait(false);
                },
                context).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (ex.InnerException is PipelineException refused)
        {
            // The connect guard's refusal (HOST_NOT_ALLOWED): final, never retried.
            throw new PipelineException(refused.Code, refused.Detail);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(uri, $"could not be reached ({ex.HttpRequestError})", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(uri, $"sent no response within {_options.ResponseHeadersTimeout.TotalSeconds:0} s", ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        if (!IsTransient(response.StatusCode))
        {
            return response;
        }
        using (response)
        {
            if (RetryAfterHeader(response) is { } wait && wait > _options.MaxRetryAfter)
            {
                throw new PipelineException(
                    ErrorCodes.RegistryUnreachable,
                    $"{uri.Authority} answered {(int)response.StatusCode} and asked to retry after {Math.Ceiling(wait.TotalSeconds):0} s, longer than the {_options.MaxRetryAfter.TotalSeconds:0} s this client waits within a request; the import is retried later.");
            }
            throw Unreachable(uri, $"answered {(int)response.StatusCode} {response.ReasonPhrase} {_options.TransientRetryCount + 1} times");
        }
    }

    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken) => outcome switch
    {
        { Exception: HttpRequestException { InnerException: PipelineException } } => false,
        { Exception: HttpRequestException } => true,
        { Exception: OperationCanceledException } => !cancellationToken.IsCancellationRequested,
        { Result: { } r } => IsTransient(r.StatusCode) && !(RetryAfterHeader(r) > _options.MaxRetryAfter),
        _ => false,
    };

    /// <summary>The server's <c>Retry-After</c>, clamped at zero, or null when it sent none.</summary>
    private TimeSpan? RetryAfter(HttpResponseMessage response) =>
        IsTransient(response.StatusCode) && RetryAfterHeader(response) is { } wait && wait <= _options.MaxRetryAfter ? wait : null;

    private TimeSpan? RetryAfterHeader(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        TimeSpan? wait = header?.Delta ?? (header?.Date is { } date ? date - _time.GetUtcNow() : null);
        return wait is { } w && w < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    private static string Describe(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException ex } => $"could not be reached ({ex.HttpRequestError})",
        { Exception: OperationCanceledException } => "sent no response in time",
        { Exception: { } ex } => ex.GetType().Name,
        { Result: { } r } => $"answered {(int)r.StatusCode} {r.ReasonPhrase}",
        _ => "failed",
    };

    private void CheckRedirectTarget(Uri from, Uri to)
    {
        bool https = to.Scheme == Uri.UriSchemeHttps;
        bool allowedHttp = to.Scheme == Uri.UriSchemeHttp && _options.IsInsecure(to.Authority);
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

    private static bool IsTransient(HttpStatusCode status) =>
        (int)status >= 500 || status == HttpStatusCode.TooManyRequests || status == HttpStatusCode.RequestTimeout;

    // Only the authority: a redirect URL's query may carry a signature.
    private static PipelineException Unreachable(Uri uri, string what, Exception? inner = null) =>
        new(ErrorCodes.RegistryUnreachable, $"{uri.Authority} {what}.", inner);
}
