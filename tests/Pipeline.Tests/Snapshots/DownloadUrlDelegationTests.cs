using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Web;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Pipeline.Oci;
using Pipeline.Snapshots;
using Pipeline.Storage;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Snapshots;

/// <summary>
/// Download URLs as Azure makes them: storage reached with a token (a managed identity's), no
/// account key anywhere, so URLs are user-delegation SAS. Against an Azurite serving HTTPS with
/// bearer-token authentication.
/// </summary>
public sealed class DownloadUrlDelegationTests : IAsyncLifetime
{
    private AzuriteFixture _azurite = null!;
    private PipelineStorage _storage = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.StartWithOAuthAsync();
        var credential = new UnsignedTokenCredential();
        var transport = new HttpClientTransport(_azurite.CreateHandler());
        _storage = new PipelineStorage((
            new BlobServiceClient(_azurite.BlobEndpoint, credential, new BlobClientOptions { Transport = transport }),
            new QueueServiceClient(_azurite.QueueEndpoint, credential, new QueueClientOptions { Transport = transport }),
            new TableServiceClient(_azurite.TableEndpoint, credential, new TableClientOptions { Transport = transport })));
        await _storage.EnsureSnapshotsContainerAsync(CancellationToken.None);
        _http = new HttpClient(_azurite.CreateHandler());
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    /// <summary>A token shaped like Entra ID's for Azure Storage; Azurite's basic OAuth does not check signatures.</summary>
    private sealed class UnsignedTokenCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            var now = DateTimeOffset.UtcNow;
            string tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
            var claims = new Dictionary<string, object>
            {
                ["aud"] = "https://storage.azure.com",
                ["iss"] = $"https://sts.windows.net/{tenant}/",
                ["iat"] = now.AddMinutes(-5).ToUnixTimeSeconds(),
                ["nbf"] = now.AddMinutes(-5).ToUnixTimeSeconds(),
                ["exp"] = now.AddHours(1).ToUnixTimeSeconds(),
                ["oid"] = "00000000-0000-0000-0000-0000000000aa",
                ["tid"] = tenant,
            };
            string token = Part("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + Part(JsonSerializer.Serialize(claims)) + "." + Part("unsigned");
            return new AccessToken(token, now.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));

        private static string Part(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public async Task For_TokenCredential_UserDelegationSasThatReadsTheBlob_SameForEveryInstance()
    {
        Assert.False(_storage.Snapshots.CanGenerateSasUri);
        byte[] bytes = RandomNumberGenerator.GetBytes(200_000);
        var digest = Digest.Compute(bytes);
        await _storage.Snapshots.GetBlobClient(BlobSnapshotStore.BlobName(digest)).UploadAsync(new BinaryData(bytes));
        var other = Digest.Compute([1, 2, 3]);
        var clock = new FixedClock(DateTimeOffset.UtcNow);

        // Two app instances, each asking storage for its own delegation key.
        var url = (await new DownloadUrlSigner(_storage, Options.Create(new DownloadOptions()), clock).ForNowAsync(CancellationToken.None)).For(digest).ToString();
        var again = (await new DownloadUrlSigner(_storage, Options.Create(new DownloadOptions()), clock).ForNowAsync(CancellationToken.None)).For(digest).ToString();

        var query = HttpUtility.ParseQueryString(new Uri(url).Query);
        Assert.Equal("00000000-0000-0000-0000-0000000000aa", query["skoid"]);
        Assert.Equal("https", query["spr"]);
        Assert.Equal(url, again);
        using var ok = await _http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(digest, Digest.Compute(await ok.Content.ReadAsByteArrayAsync()));
        using var edited = await _http.GetAsync(url.Replace(digest.Hex, other.Hex, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, edited.StatusCode);
    }
}
