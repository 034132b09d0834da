using System.Net;
using System.Security.Cryptography;
using System.Web;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;
using Pipeline.Oci;
using Pipeline.Snapshots;
using Pipeline.Storage;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Snapshots;

/// <summary>
/// Download URLs against real storage (Azurite): read-only and per blob, identical for every
/// caller within a time bucket, Range-capable, and refused by storage when expired or edited
/// (TEST-MATRIX row 28).
/// </summary>
public sealed class DownloadUrlSignerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2030, 5, 6, 7, 2, 30, TimeSpan.Zero);

    private AzuriteFixture _azurite = null!;
    private PipelineStorage _storage = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.GetSharedAsync();
        _storage = new PipelineStorage(Options.Create(new StorageOptions { ConnectionString = _azurite.ConnectionString }));
        await _storage.EnsureSnapshotsContainerAsync(CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private DownloadUrlSigner Signer(TimeProvider time, Uri? baseUrl = null) =>
        new(_storage, Options.Create(new DownloadOptions { BaseUrl = baseUrl }), time);

    private async Task<(Digest Digest, byte[] Bytes)> StoreAsync(int size)
    {
        byte[] bytes = RandomNumberGenerator.GetBytes(size);
        var digest = Digest.Compute(bytes);
        await _storage.Snapshots.GetBlobClient(BlobSnapshotStore.BlobName(digest)).UploadAsync(new BinaryData(bytes), overwrite: true);
        return (digest, bytes);
    }

    private static DateTimeOffset Expiry(Uri url) =>
        DateTimeOffset.Parse(HttpUtility.ParseQueryString(url.Query)["se"]!, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task For_SameBucket_ByteIdenticalAcrossSigners_NextBucketDiffers()
    {
        var (digest, _) = await StoreAsync(1000);
        var clock = new ManualClock(Start);
        var first = (await Signer(clock).ForNowAsync(CancellationToken.None)).For(digest);
        clock.Now = Start.AddMinutes(12); // 07:14:30, still the 07:00-07:15 bucket
        var sameBucket = (await Signer(clock).ForNowAsync(CancellationToken.None)).For(digest);
        clock.Now = Start.AddMinutes(13); // 07:15:30
        var nextBucket = (await Signer(clock).ForNowAsync(CancellationToken.None)).For(digest);

        Assert.Equal(first.ToString(), sameBucket.ToString());
        Assert.NotEqual(first.ToString(), nextBucket.ToString());
        // The bucket's end plus the default lifetime of one hour.
        Assert.Equal(new DateTimeOffset(2030, 5, 6, 8, 15, 0, TimeSpan.Zero), Expiry(first));
        Assert.Equal(new DateTimeOffset(2030, 5, 6, 8, 30, 0, TimeSpan.Zero), Expiry(nextBucket));
        var query = HttpUtility.ParseQueryString(first.Query);
        Assert.Equal(("r", "b"), (query["sp"], query["sr"]));
    }

    [Fact]
    public async Task For_ValidUrl_ServesExactBytes_AndResumesWithRange()
    {
        var (digest, bytes) = await StoreAsync(3_000_000);
        var url = (await Signer(TimeProvider.System).ForNowAsync(CancellationToken.None)).For(digest).ToString();

        var (status, whole) = await BlobUrlDownloads.GetAsync(url);
        var joined = await BlobUrlDownloads.DownloadCutAndResumeAsync(url, bytes.Length, cutAt: 1_234_567);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(digest, BlobUrlDownloads.Hash(whole));
        Assert.Equal(digest, BlobUrlDownloads.Hash(joined));
    }

    [Fact]
    public async Task For_ExpiredOrEditedUrl_StorageRefuses403()
    {
        var (digest, _) = await StoreAsync(1000);
        var (other, _) = await StoreAsync(1000);
        var expired = (await Signer(new ManualClock(DateTimeOffset.UtcNow.AddHours(-3))).ForNowAsync(CancellationToken.None)).For(digest).ToString();
        var valid = (await Signer(TimeProvider.System).ForNowAsync(CancellationToken.None)).For(digest).ToString();
        var edited = valid.Replace(digest.Hex, other.Hex, StringComparison.Ordinal);
        var widened = valid.Replace("sp=r", "sp=rw", StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await BlobUrlDownloads.GetAsync(valid)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await BlobUrlDownloads.GetAsync(expired)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await BlobUrlDownloads.GetAsync(edited)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await BlobUrlDownloads.GetAsync(widened)).Status);
        // Read-only: the same URL cannot write.
        var overwrite = new BlobClient(new Uri(valid));
        var refused = await Assert.ThrowsAsync<Azure.RequestFailedException>(() => overwrite.UploadAsync(new BinaryData([1, 2, 3]), overwrite: true));
        Assert.Equal(403, refused.Status);
    }

    [Fact]
    public async Task For_BaseUrlSet_UrlOnThatHostWithTheSamePathAndSignature()
    {
        var (digest, _) = await StoreAsync(100);
        var clock = new ManualClock(Start);
        var direct = (await Signer(clock).ForNowAsync(CancellationToken.None)).For(digest);
        var viaCdn = (await Signer(clock, new Uri("https://cdn.example.test/")).ForNowAsync(CancellationToken.None)).For(digest);

        Assert.Equal("https://cdn.example.test/snapshots/sha256/" + digest.Hex + direct.Query, viaCdn.ToString());
    }
}
