using System.Net;
using System.Security.Cryptography;
using Pipeline.Oci;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

public sealed class RegistryClientBlobTests
{
    private static readonly PullScope Scope = RegistryTestClient.Anonymous();

    [Fact]
    public async Task OpenBlobAsync_IntactBlob_StreamsExactBytes()
    {
        await using var registry = await FakeRegistry.StartAsync();
        byte[] content = RandomNumberGenerator.GetBytes(300_000);
        var blob = registry.PutBlob("demo/app", content);
        using var client = new RegistryTestClient(registry.Host);

        await using var stream = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(content, copy.ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenBlobAsync_CorruptedBlob_StreamThrowsDigestMismatch(bool withContentLength)
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.OmitBlobContentLength = !withContentLength;
        byte[] content = RandomNumberGenerator.GetBytes(100_000);
        var blob = registry.PutBlob("demo/app", content);
        byte[] corrupted = (byte[])content.Clone();
        corrupted[50_000] ^= 0xFF;
        registry.PutBlobRaw("demo/app", blob.Digest, corrupted);
        using var client = new RegistryTestClient(registry.Host);

        await using var stream = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() => stream.CopyToAsync(Stream.Null));

        Assert.Equal(ErrorCodes.DigestMismatch, ex.Code);
    }

    [Fact]
    public async Task OpenBlobAsync_BlobLongerThanDescriptor_StreamThrows()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.OmitBlobContentLength = true;
        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        var blob = registry.PutBlob("demo/app", content);
        registry.PutBlobRaw("demo/app", blob.Digest, [.. content, 0x42]);
        using var client = new RegistryTestClient(registry.Host);

        await using var stream = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() => stream.CopyToAsync(Stream.Null));

        Assert.Contains("more than", ex.Message);
    }

    [Fact]
    public async Task OpenBlobAsync_BlobShorterThanDescriptor_StreamThrows()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.OmitBlobContentLength = true;
        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        var blob = registry.PutBlob("demo/app", content);
        registry.PutBlobRaw("demo/app", blob.Digest, content[..9_999]);
        using var client = new RegistryTestClient(registry.Host);

        await using var stream = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() => stream.CopyToAsync(Stream.Null));

        Assert.Contains("fewer than", ex.Message);
    }

    [Fact]
    public async Task OpenBlobAsync_ContentLengthDiffersFromDescriptor_ThrowsBeforeReading()
    {
        await using var registry = await FakeRegistry.StartAsync();
        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        var blob = registry.PutBlob("demo/app", content);
        registry.PutBlobRaw("demo/app", blob.Digest, content[..5_000]);
        using var client = new RegistryTestClient(registry.Host);

        await Assert.ThrowsAsync<DigestMismatchException>(() =>
            client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None));
    }

    [Fact]
    public async Task OpenBlobAsync_MissingBlob_ThrowsImageNotFound()
    {
        await using var registry = await FakeRegistry.StartAsync();
        using var client = new RegistryTestClient(registry.Host);
        var blob = new Descriptor(MediaTypes.OciLayerGzip, Digest.Compute("absent"u8), 6);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ImageNotFound, ex.Code);
    }

    [Fact]
    public async Task OpenBlobAsync_RedirectToOtherHost_FollowsWithoutAuthorization()
    {
        await using var registry = await FakeRegistry.StartAsync();
        await using var storage = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.RedirectBlobsTo = storage;
        byte[] content = RandomNumberGenerator.GetBytes(50_000);
        var blob = registry.PutBlob("demo/app", content);
        storage.PutBlob("demo/app", content);
        using var client = new RegistryTestClient(registry.Host, storage.Host);

        await using var stream = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(content, copy.ToArray());
        Assert.Contains(registry.Requests, r => r.Path.Contains("/blobs/") && r.Authorization.StartsWith("Bearer ", StringComparison.Ordinal));
        var redirected = Assert.Single(storage.Requests);
        Assert.Equal("", redirected.Authorization);
        Assert.DoesNotContain(client.Logs.Lines, l => l.Contains("secret-signature"));
    }

    [Fact]
    public async Task OpenBlobAsync_RedirectToHttpHostNotListed_ThrowsHostNotAllowed()
    {
        await using var registry = await FakeRegistry.StartAsync();
        await using var storage = await FakeRegistry.StartAsync();
        registry.RedirectBlobsTo = storage;
        var blob = registry.PutBlob("demo/app", RandomNumberGenerator.GetBytes(100));
        using var client = new RegistryTestClient(registry.Host); // storage is not listed as insecure

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.HostNotAllowed, ex.Code);
        Assert.DoesNotContain("secret-signature", ex.Message);
        Assert.Empty(storage.Requests);
    }

    [Fact]
    public async Task BlobExistsAsync_PresentBlob_ReturnsTrue()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        var blob = registry.PutBlob("demo/app", RandomNumberGenerator.GetBytes(100));
        using var client = new RegistryTestClient(registry.Host);

        Assert.True(await client.Client.BlobExistsAsync(registry.Reference("demo/app:1"), blob.Digest, Scope, CancellationToken.None));
        Assert.Contains(registry.Requests, r => r.Method == "HEAD");
    }

    [Fact]
    public async Task BlobExistsAsync_AbsentBlob_ReturnsFalse()
    {
        await using var registry = await FakeRegistry.StartAsync();
        using var client = new RegistryTestClient(registry.Host);

        Assert.False(await client.Client.BlobExistsAsync(registry.Reference("demo/app:1"), Digest.Compute("absent"u8), Scope, CancellationToken.None));
    }

    [Fact]
    public async Task BlobExistsAsync_CredentialsRefused_ThrowsAuthFailed()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequiredCredentials = ("robot", "right");
        var blob = registry.PutBlob("demo/app", RandomNumberGenerator.GetBytes(100));
        using var client = new RegistryTestClient(registry.Host);
        var scope = new PullScope("tenant-b", new RegistryCredentials("robot", "wrong"));

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.BlobExistsAsync(registry.Reference("demo/app:1"), blob.Digest, scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
    }

    [Fact]
    public async Task BlobExistsAsync_RegistryForbids_ThrowsAuthFailed()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.FailWith = HttpStatusCode.Forbidden;
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.BlobExistsAsync(registry.Reference("demo/app:1"), Digest.Compute("x"u8), Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
    }

    [Fact]
    public async Task OpenBlobAsync_RedirectToHostResolvingToMetadata_ThrowsHostNotAllowedWithoutConnecting()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.RedirectBlobsToUrl = path => $"https://storage.test{path}?signature=secret-signature";
        var blob = registry.PutBlob("demo/app", RandomNumberGenerator.GetBytes(100));
        var resolver = FakeResolver.Fixed("storage.test", IPAddress.Parse("169.254.169.254"));
        var connector = new RecordingConnector();
        using var client = new RegistryTestClient(RegistryTestClient.Settings(registry.Host), services =>
        {
            services.AddSingleton<IRegistryHostResolver>(resolver);
            services.AddSingleton<IRegistrySocketConnector>(connector);
        });

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.HostNotAllowed, ex.Code);
        Assert.DoesNotContain("secret-signature", ex.Message);
        Assert.Equal(["storage.test"], resolver.Lookups);
        Assert.All(connector.Attempts, e => Assert.True(IPAddress.IsLoopback(e.Address)));
    }

    [Fact]
    public async Task OpenBlobAsync_MissingBlobWithEndlessErrorBody_ThrowsImageNotFoundWithoutReadingIt()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.EndlessErrorBodies = true;
        using var client = new RegistryTestClient(registry.Host);
        var blob = new Descriptor(MediaTypes.OciLayerGzip, Digest.Compute("absent"u8), 6);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ImageNotFound, ex.Code);
        // Reading the endless body would never end; dropping it is immediate.
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }
}
