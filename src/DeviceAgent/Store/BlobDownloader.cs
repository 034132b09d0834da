using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using DeviceAgent.Api;
using DeviceAgent.Progress;

namespace DeviceAgent.Store;

/// <summary>
/// Downloads one plan blob into the store: continues a partial with <c>Range: bytes=N-</c>,
/// accepting only a 206 whose <c>Content-Range</c> starts at N (anything else starts over from
/// zero: bytes are never spliced), streams through a fixed buffer while hashing, retries dropped
/// or stalled connections with backoff from wherever the partial got to, and commits the blob
/// under its digest only when size and sha256 match. The plan's URL goes to the CDN or storage,
/// never with the device key.
/// </summary>
internal sealed class BlobDownloader(HttpClient http, ContentStore store, DownloadPolicy policy)
{
    public async Task<DownloadRecord> DownloadAsync(PlanBlob blob, IBlobProgress progress, CancellationToken cancellationToken)
    {
        var digest = BlobDigest.Parse(blob.Digest);
        if (store.Has(digest))
        {
            progress.Completed(blob.Size);
            return new DownloadRecord(blob.Digest, blob.Size, blob.Size, 0, 0, 0, true);
        }
        using var partial = PartialFile.Open(store.PartialPath(digest), blob.Size);
        long resumedFrom = partial.Length;
        progress.Advanced(partial.Length);
        int attempts = 0, restarts = 0, failuresInARow = 0;
        try
        {
            while (partial.Length < blob.Size)
            {
                attempts++;
                long before = partial.Length;
                try
                {
                    if (!await FetchAsync(blob, partial, progress, cancellationToken).ConfigureAwait(false))
                    {
                        restarts++;
                        if (restarts > policy.MaxAttempts)
                        {
                            throw new BlobDownloadException($"{digest.Short}: the server never continued a partial download correctly ({restarts} restarts).", transient: true);
                        }
                    }
                }
                catch (Exception e) when (IsLinkFailure(e, cancellationToken))
                {
                    failuresInARow = DownloadPolicy.FailuresInARow(failuresInARow, partial.Length - before);
                    if (failuresInARow >= policy.MaxAttempts)
                    {
                        throw new BlobDownloadException(
                            $"{digest.Short}: the download failed {failuresInARow} times in a row at {DiskSpace.Format(partial.Length)} of {DiskSpace.Format(blob.Size)} ({e.Message}); the next round resumes it.",
                            transient: true, e);
                    }
                    var pause = e is RetryLaterException later ? later.RetryAfter ?? policy.Backoff(failuresInARow) : policy.Backoff(failuresInARow);
                    await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (DiskFullException)
        {
            // The running version needs the room more than half a download does.
            partial.Delete();
            throw;
        }
        long downloaded = partial.Appended;
        if (!partial.Commit(digest, blob.Size, store.BlobPath(digest)))
        {
            throw new BlobDownloadException($"{digest.Short}: the downloaded bytes do not match the digest; discarded, the next round downloads it again.", transient: false);
        }
        progress.Completed(blob.Size);
        return new DownloadRecord(blob.Digest, blob.Size, resumedFrom, downloaded, attempts, restarts, true);
    }

    /// <summary>
    /// One request from the partial's end. Returns false when the server could not continue the
    /// partial (it ignored Range with a 206 from elsewhere, or refused the range): the partial is
    /// emptied and the next request starts at zero.
    /// </summary>
    private async Task<bool> FetchAsync(PlanBlob blob, PartialFile partial, IBlobProgress progress, CancellationToken cancellationToken)
    {
        long offset = partial.Length;
        using var request = new HttpRequestMessage(HttpMethod.Get, blob.Url);
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
        }
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(policy.StallTimeout);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.Forbidden:
                throw new UrlExpiredException($"{blob.Digest}: the download URL was refused (403): it expired; asking for a new plan.");
            case HttpStatusCode.RequestedRangeNotSatisfiable when offset > 0:
                partial.Reset();
                return false;
            case HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError:
                throw new RetryLaterException($"the server answered {(int)response.StatusCode}", RetryAfter(response));
            case HttpStatusCode.OK:
                // The whole blob from byte 0: a server that ignores Range. Start over rather than splice.
                if (offset > 0)
                {
                    partial.Reset();
                    progress.Advanced(0);
                }
                break;
            case HttpStatusCode.PartialContent:
                var range = response.Content.Headers.ContentRange;
                if (offset == 0 || range is null || !range.HasRange || range.From != offset
                    || (range.To is { } to && to != blob.Size - 1) || (range.Length is { } total && total != blob.Size))
                {
                    partial.Reset();
                    progress.Advanced(0);
                    return false;
                }
                break;
            default:
                throw new BlobDownloadException($"{blob.Digest}: the download URL answered {(int)response.StatusCode} {response.ReasonPhrase}.", transient: false);
        }

        await using var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(DownloadPolicy.BufferBytes);
        try
        {
            while (true)
            {
                int n = await policy.ReadAsync(body, buffer.AsMemory(0, DownloadPolicy.BufferBytes), stall, "", cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                if (partial.Length + n > blob.Size)
                {
                    partial.Reset();
                    throw new BlobDownloadException($"{blob.Digest}: the server sent more than the {blob.Size} bytes the plan gives; discarded.", transient: false);
                }
                partial.Append(buffer.AsSpan(0, n));
                progress.Advanced(partial.Length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (partial.Length < blob.Size)
        {
            throw new IOException($"the connection closed at {DiskSpace.Format(partial.Length)} of {DiskSpace.Format(blob.Size)}");
        }
        return true;
    }

    /// <summary>A dropped, refused, stalled or busy link: worth another try from where the partial ends.</summary>
    private static bool IsLinkFailure(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && e is HttpRequestException or IOException or TimeoutException or RetryLaterException or OperationCanceledException;

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var retry = response.Headers.RetryAfter;
        var wanted = retry?.Delta ?? (retry?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return wanted is { } w && w > TimeSpan.Zero ? (w < DownloadPolicy.MaxBackoff ? w : DownloadPolicy.MaxBackoff) : null;
    }

    /// <summary>A busy server (429, 5xx): try again after its <c>Retry-After</c> or the backoff.</summary>
    private sealed class RetryLaterException(string message, TimeSpan? retryAfter) : Exception(message)
    {
        public TimeSpan? RetryAfter { get; } = retryAfter;
    }
}
