using Microsoft.Extensions.Options;

namespace Pipeline.Snapshots;

/// <summary>
/// How devices download snapshot blobs (configuration section <c>Pipeline:Downloads</c>, API.md
/// configuration table). A download URL names one blob, may only read it, and is the same for
/// every device that asks within one <see cref="UrlBucket"/>, so a CDN keeps one cached object
/// per blob and bucket rather than one per device.
/// </summary>
public sealed class DownloadOptions
{
    public const string Section = "Pipeline:Downloads";

    /// <summary>
    /// Public base of the snapshot blobs, standing in for the blob service endpoint (the CDN's
    /// endpoint in Azure): a URL is <c>{BaseUrl}/snapshots/sha256/{hex}?{sas}</c>. Unset: the
    /// storage account's blob endpoint.
    /// </summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>How long a URL stays valid at least, counted from the end of the bucket it was handed out in.</summary>
    public TimeSpan UrlLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Every plan made within one bucket of this length (aligned to UTC midnight) gets the same
    /// URL for a blob, expiring at the bucket's end plus <see cref="UrlLifetime"/>.
    /// </summary>
    public TimeSpan UrlBucket { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>Start-up validation of <see cref="DownloadOptions"/>.</summary>
internal sealed class DownloadOptionsValidator : IValidateOptions<DownloadOptions>
{
    public ValidateOptionsResult Validate(string? name, DownloadOptions options)
    {
        var failures = new List<string>();
        if (options.BaseUrl is { } b && (!b.IsAbsoluteUri || b.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(b.Query) || !string.IsNullOrEmpty(b.Fragment)))
        {
            failures.Add("Pipeline:Downloads:BaseUrl must be an absolute http(s) URL without query or fragment, such as https://cdn.example.net.");
        }
        if (options.UrlLifetime < TimeSpan.FromMinutes(1) || options.UrlLifetime > TimeSpan.FromHours(12))
        {
            failures.Add("Pipeline:Downloads:UrlLifetime must be between 1 minute and 12 hours.");
        }
        if (options.UrlBucket < TimeSpan.FromSeconds(1) || options.UrlBucket > TimeSpan.FromHours(6)
            || TimeSpan.FromDays(1).Ticks % options.UrlBucket.Ticks != 0)
        {
            failures.Add("Pipeline:Downloads:UrlBucket must be between 1 second and 6 hours and divide a day evenly (such as 00:15:00).");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
