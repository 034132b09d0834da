using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Pipeline.Api.Limits;

/// <summary>Which bucket a request draws from.</summary>
public enum RateLimitScope
{
    /// <summary>A bearer key of the GraphQL API, by its hash.</summary>
    Key,

    /// <summary>A device, by its id.</summary>
    Device,

    /// <summary>A customer's webhook of one provider.</summary>
    Webhook,
}

/// <summary>
/// Token buckets per key, device and webhook, in both hosts (the endpoints ask before doing any
/// work, even before reading a key from storage, so a flood costs next to nothing). Over the
/// limit the caller gets 429 with <c>Retry-After</c> and the code <c>RATE_LIMITED</c>; other
/// keys, devices and customers keep their own buckets.
/// </summary>
public sealed class ApiRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<(RateLimitScope Scope, string Id)> _limiter;

    public ApiRateLimiter(IOptions<ApiLimitOptions> options)
    {
        var o = options.Value;
        _limiter = PartitionedRateLimiter.Create<(RateLimitScope Scope, string Id), (RateLimitScope, string)>(request =>
            RateLimitPartition.GetTokenBucketLimiter(request, key => Bucket(key.Item1 switch
            {
                RateLimitScope.Key => (o.KeyRequestsPerSecond, o.KeyBurst),
                RateLimitScope.Device => (o.DeviceRequestsPerSecond, o.DeviceBurst),
                _ => (o.WebhookRequestsPerSecond, o.WebhookBurst),
            })));
    }

    /// <summary>
    /// Takes a token for <paramref name="id"/>. When there is none, sets <c>Retry-After</c> on
    /// the response and returns the error to answer with (status 429, code <c>RATE_LIMITED</c>);
    /// the endpoint writes it in its own shape and stops there.
    /// </summary>
    public PipelineException? TryEnter(HttpContext http, RateLimitScope scope, string id)
    {
        using var lease = _limiter.AttemptAcquire((scope, id));
        if (lease.IsAcquired)
        {
            return null;
        }
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        int seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return new PipelineException(ErrorCodes.RateLimited, $"Too many requests from this {Describe(scope)}; try again in {seconds} s.");
    }

    public void Dispose() => _limiter.Dispose();

    private static TokenBucketRateLimiterOptions Bucket((double PerSecond, int Burst) rate)
    {
        // Refill every 100 ms (or less often for slow rates) with the tokens that period earns.
        var period = TimeSpan.FromMilliseconds(Math.Max(100, 1000 / rate.PerSecond));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = rate.Burst,
            TokensPerPeriod = Math.Max(1, (int)Math.Round(rate.PerSecond * period.TotalSeconds)),
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private static string Describe(RateLimitScope scope) => scope switch
    {
        RateLimitScope.Key => "key",
        RateLimitScope.Device => "device",
        _ => "webhook",
    };
}
