using System.Globalization;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using Microsoft.Extensions.Options;
using Pipeline.Oci;
using Pipeline.Storage;

namespace Pipeline.Snapshots;

/// <summary>
/// Signs the per-blob download URLs of device plans (API.md "Devices"): read-only, one blob each,
/// on the host of <see cref="DownloadOptions.BaseUrl"/>. With an account key (Azurite, local) a
/// service SAS; with a managed identity (Azure) a user-delegation SAS, so no account key exists
/// anywhere. Every signature made within one time bucket is byte-identical for a blob — the
/// expiry is the bucket's end plus the lifetime and nothing else in the URL varies — so a CDN
/// that keys its cache on the query string serves a whole fleet from one cached object.
/// </summary>
public sealed class DownloadUrlSigner(PipelineStorage storage, IOptions<DownloadOptions> options, TimeProvider time)
{
    /// <summary>
    /// A user-delegation key is asked for once a UTC day, valid from that midnight for two days:
    /// instances of the app asking on the same day ask for the same key, and every SAS of the day
    /// expires within the key's validity (lifetime plus bucket are at most 18 hours).
    /// </summary>
    private static readonly TimeSpan DelegationKeyValidity = TimeSpan.FromDays(2);

    private readonly DownloadOptions _options = options.Value;
    private readonly string _baseUrl = (options.Value.BaseUrl ?? storage.Blobs.Uri).ToString().TrimEnd('/');
    private readonly Lock _gate = new();
    private (DateTimeOffset Day, Task<UserDelegationKey> Key)? _delegationKey;

    /// <summary>Signs URLs for the current bucket; one call per plan, then <see cref="DownloadUrls.For"/> per blob.</summary>
    public async ValueTask<DownloadUrls> ForNowAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        long bucket = _options.UrlBucket.Ticks;
        var bucketStart = new DateTimeOffset(now.UtcTicks - now.UtcTicks % bucket, TimeSpan.Zero);
        var expiresOn = bucketStart + _options.UrlBucket + _options.UrlLifetime;
        var key = storage.Snapshots.CanGenerateSasUri ? null : await DelegationKeyAsync(now, cancellationToken).ConfigureAwait(false);
        return new DownloadUrls(this, expiresOn, key);
    }

    internal Uri Sign(string blobName, DateTimeOffset expiresOn, UserDelegationKey? key)
    {
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, expiresOn)
        {
            BlobContainerName = PipelineStorage.SnapshotsContainer,
            BlobName = blobName,
            Resource = "b",
            Protocol = storage.Blobs.Uri.Scheme == Uri.UriSchemeHttps ? SasProtocol.Https : SasProtocol.HttpsAndHttp,
            // A blob's bytes never change under its name: caches may keep it as long as the URL lives.
            CacheControl = "public, max-age=" + ((long)_options.UrlLifetime.TotalSeconds).ToString(CultureInfo.InvariantCulture) + ", immutable",
        };
        string query = key is null
            ? storage.Snapshots.GetBlobClient(blobName).GenerateSasUri(sas).Query.TrimStart('?')
            : sas.ToSasQueryParameters(key, storage.Blobs.AccountName).ToString();
        return new Uri($"{_baseUrl}/{PipelineStorage.SnapshotsContainer}/{blobName}?{query}");
    }

    private Task<UserDelegationKey> DelegationKeyAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var day = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        lock (_gate)
        {
            if (_delegationKey is { } cached && cached.Day == day && !cached.Key.IsFaulted && !cached.Key.IsCanceled)
            {
                return cached.Key;
            }
            var fetch = FetchAsync();
            _delegationKey = (day, fetch);
            return fetch;
        }

        async Task<UserDelegationKey> FetchAsync()
        {
            var response = await storage.Blobs.GetUserDelegationKeyAsync(
                new BlobGetUserDelegationKeyOptions(day + DelegationKeyValidity) { StartsOn = day }, cancellationToken).ConfigureAwait(false);
            return response.Value;
        }
    }
}

/// <summary>Download URLs of one bucket, signed with one key.</summary>
public sealed class DownloadUrls
{
    private readonly DownloadUrlSigner _signer;
    private readonly UserDelegationKey? _key;

    internal DownloadUrls(DownloadUrlSigner signer, DateTimeOffset expiresOn, UserDelegationKey? key)
    {
        _signer = signer;
        ExpiresOn = expiresOn;
        _key = key;
    }

    /// <summary>When every URL of this bucket stops working.</summary>
    public DateTimeOffset ExpiresOn { get; }

    /// <summary>The read-only URL of the blob <paramref name="digest"/>.</summary>
    public Uri For(Digest digest) => _signer.Sign(BlobSnapshotStore.BlobName(digest), ExpiresOn, _key);

    /// <summary>The read-only URL of another blob of the snapshots container (a layer's chunk pack).</summary>
    public Uri ForBlob(string blobName) => _signer.Sign(blobName, ExpiresOn, _key);
}
