using DeviceAgent.Api;
using DeviceAgent.Progress;
using DeviceAgent.Store;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// The agent's downloader against a blob server that drops, stalls, ignores Range or lies about
/// Content-Range (TEST-MATRIX rows 10, 11, 12 and 31 from the device's side): a download resumes
/// from its partial, never splices, gives up after bounded tries, and puts nothing under a digest
/// its bytes do not have.
/// </summary>
public sealed class BlobDownloaderTests : IAsyncLifetime
{
    private const long MiB = 1024 * 1024;

    private static readonly DownloadPolicy Fast = new(3, TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(1));

    private FakeDeviceApi _server = null!;
    private string _root = null!;
    private ContentStore _store = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeDeviceApi.StartAsync();
        _root = Directory.CreateTempSubdirectory("pipeline-agent-store-").FullName;
        _store = ContentStore.Open(_root);
        _http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _store.Dispose();
        Directory.Delete(_root, recursive: true);
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Download_LinkDropsAtHalf_ResumesWithRangeUnder1MiBFetchedTwice()
    {
        var (blob, bytes) = Blob(4 * MiB, seed: 1);
        _server.Blobs.Fault(blob.Digest, new BlobFault { DropAt = bytes.Length / 2 });

        var record = await Downloader(DownloadPolicy.Default with { FirstBackoff = TimeSpan.FromMilliseconds(20) }).DownloadAsync(blob, NoProgress.Instance, default);

        Assert.Equal(2, _server.Blobs.Requests(blob.Digest));
        Assert.Equal((2, 0), (record.Attempts, record.Restarts));
        Assert.True(_server.Blobs.SentBytes(blob.Digest) - bytes.Length < MiB, $"sent {_server.Blobs.SentBytes(blob.Digest)} for {bytes.Length}");
        AssertStored(blob, bytes);
    }

    [Fact]
    public async Task Download_PartialLeftByKilledAgent_ResumesWhereItEnded()
    {
        var (blob, bytes) = Blob(3 * MiB, seed: 2);
        int kept = (int)(bytes.Length * 0.6);
        // What a killed agent leaves: the first bytes under partial/<hex>, nothing under blobs/.
        await File.WriteAllBytesAsync(Path.Combine(_root, "partial", blob.Digest[7..]), bytes[..kept]);

        var record = await Downloader().DownloadAsync(blob, NoProgress.Instance, default);

        Assert.Equal((long)kept, record.ResumedFrom);
        Assert.Equal(bytes.Length - kept, record.BytesDownloaded);
        Assert.Equal(bytes.Length - kept, _server.Blobs.SentBytes(blob.Digest));
        AssertStored(blob, bytes);
    }

    [Fact]
    public async Task Download_ServerIgnoresRange_StartsOverFromZeroAndVerifies()
    {
        var (blob, bytes) = Blob(MiB, seed: 3);
        await File.WriteAllBytesAsync(Path.Combine(_root, "partial", blob.Digest[7..]), bytes[..1000]);
        _server.Blobs.Fault(blob.Digest, new BlobFault { IgnoreRange = true });

        var record = await Downloader().DownloadAsync(blob, NoProgress.Instance, default);

        // A 200 to a Range request is the whole blob from byte 0: appended to the partial it would be spliced.
        Assert.Equal(bytes.Length, record.BytesDownloaded);
        AssertStored(blob, bytes);
    }

    [Fact]
    public async Task Download_ContentRangeStartsElsewhere_RestartsFromZeroNeverSplices()
    {
        var (blob, bytes) = Blob(MiB, seed: 4);
        await File.WriteAllBytesAsync(Path.Combine(_root, "partial", blob.Digest[7..]), bytes[..5000]);
        _server.Blobs.Fault(blob.Digest, new BlobFault { WrongContentRangeTimes = 1 });

        var record = await Downloader().DownloadAsync(blob, NoProgress.Instance, default);

        Assert.Equal((1, 2), (record.Restarts, _server.Blobs.Requests(blob.Digest)));
        AssertStored(blob, bytes);
    }

    [Fact]
    public async Task Download_RepeatedStallsWithoutHeadway_GivesUpAfterBoundedTriesKeepingThePartial()
    {
        var (blob, bytes) = Blob(MiB, seed: 5);
        _server.Blobs.Fault(blob.Digest, new BlobFault { StallAt = bytes.Length / 2 });

        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAsync<BlobDownloadException>(() => Downloader(Fast).DownloadAsync(blob, NoProgress.Instance, default));

        Assert.True(e.Transient);
        Assert.Contains("failed 3 times in a row", e.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15));
        Assert.Equal(3, _server.Blobs.Requests(blob.Digest));
        // Kept for the next round to resume: exactly the bytes that arrived, and nothing under the digest.
        Assert.Equal(bytes[..(bytes.Length / 2)], await File.ReadAllBytesAsync(Path.Combine(_root, "partial", blob.Digest[7..])));
        Assert.False(File.Exists(Path.Combine(_root, "blobs", "sha256", blob.Digest[7..])));
    }

    [Fact]
    public async Task Download_BytesDoNotMatchDigest_NothingKeptUnderItsName()
    {
        var (served, _) = Blob(200_000, seed: 6);
        var (claimed, _) = Blob(200_000, seed: 7);
        var lying = claimed with { Url = served.Url };

        var e = await Assert.ThrowsAsync<BlobDownloadException>(() => Downloader().DownloadAsync(lying, NoProgress.Instance, default));

        Assert.False(e.Transient);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "blobs", "sha256")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "partial")));
    }

    [Fact]
    public async Task Download_UrlRefused_AsksForANewPlan()
    {
        var (blob, _) = Blob(10_000, seed: 8);
        _server.Blobs.Fault(blob.Digest, new BlobFault { ForbiddenTimes = 1 });

        await Assert.ThrowsAsync<UrlExpiredException>(() => Downloader().DownloadAsync(blob, NoProgress.Instance, default));
    }

    [Fact]
    public async Task VerifyAll_BlobWhoseBytesDoNotMatchItsName_IsRemoved()
    {
        var (good, goodBytes) = Blob(50_000, seed: 9);
        var (bad, badBytes) = Blob(50_000, seed: 10);
        await File.WriteAllBytesAsync(Path.Combine(_root, "blobs", "sha256", good.Digest[7..]), goodBytes);
        badBytes[123] ^= 0xFF;
        await File.WriteAllBytesAsync(Path.Combine(_root, "blobs", "sha256", bad.Digest[7..]), badBytes);

        var removed = await _store.VerifyAllAsync(default);

        Assert.Contains(bad.Digest, Assert.Single(removed));
        Assert.Equal([good.Digest], _store.List().Select(d => d.ToString()));
    }

    private BlobDownloader Downloader(DownloadPolicy? policy = null) => new(_http, _store, policy ?? Fast);

    private (PlanBlob Blob, byte[] Bytes) Blob(long size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        string digest = _server.Blobs.Add(bytes);
        return (new PlanBlob(digest, size, "application/octet-stream", new Uri(_server.BaseUri, "/blobs/" + digest[7..]).ToString()), bytes);
    }

    private void AssertStored(PlanBlob blob, byte[] bytes)
    {
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(_root, "blobs", "sha256", blob.Digest[7..])));
        Assert.False(File.Exists(Path.Combine(_root, "partial", blob.Digest[7..])));
    }

    private sealed class NoProgress : IBlobProgress
    {
        public static readonly NoProgress Instance = new();

        public void Advanced(long bytesDone)
        {
        }

        public void Completed(long size)
        {
        }
    }
}
