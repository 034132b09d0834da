using System.Net;
using System.Security.Cryptography;
using DeviceAgent.Api;

namespace DeviceAgent.Store;

/// <summary>
/// Fetches a small blob into memory and verifies it: the version's <c>lxc.env</c> behind the
/// plan's <c>env_url</c>, checked against <c>env</c>'s size and digest like every other blob. It is
/// small enough that a dropped link simply starts it again.
/// </summary>
internal sealed class SmallBlobFetcher(HttpClient http, DownloadPolicy policy)
{
    public const long MaxBytes = 1024 * 1024;

    public async Task<byte[]> FetchAsync(string url, BlobDescriptor descriptor, CancellationToken cancellationToken)
    {
        var digest = BlobDigest.Parse(descriptor.Digest);
        if (descriptor.Size is < 0 or > MaxBytes)
        {
            throw new BlobDownloadException($"{digest.Short}: {descriptor.Size} bytes is not a small file (at most {MaxBytes}).", transient: false);
        }
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                limit.CancelAfter(policy.StallTimeout);
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, limit.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Forbidden)
                {
                    throw new UrlExpiredException($"{digest.Short}: the download URL was refused (403): it expired; asking for a new plan.");
                }
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new HttpRequestException($"the download URL answered {(int)response.StatusCode}", null, response.StatusCode);
                }
                var bytes = new byte[descriptor.Size];
                await using var body = await response.Content.ReadAsStreamAsync(limit.Token).ConfigureAwait(false);
                await body.ReadExactlyAsync(bytes, limit.Token).ConfigureAwait(false);
                // One more byte would mean the file is longer than the plan says.
                bool longer = await body.ReadAsync(new byte[1], limit.Token).ConfigureAwait(false) > 0;
                if (longer || BlobDigest.FromHash(SHA256.HashData(bytes)) != digest)
                {
                    throw new BlobDownloadException($"{digest.Short}: the downloaded bytes do not match the digest or size; discarded.", transient: false);
                }
                return bytes;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException
                && !cancellationToken.IsCancellationRequested && attempt < policy.MaxAttempts
                && (e as HttpRequestException)?.StatusCode is null or >= HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(policy.Backoff(attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
