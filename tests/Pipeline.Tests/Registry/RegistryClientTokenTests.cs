using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Oci;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

/// <summary>TEST-MATRIX rows 15 and 18, and the token cache's keys: token expiry mid-import, the realm checks, credentials.</summary>
public sealed class RegistryClientTokenTests
{
    private const string Password = "canary-Pa55word-91ab";

    [Fact]
    public async Task OpenBlobAsync_TokenExpiredBetweenResolveAndBlob_RefreshesOnceAndSucceeds()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        var image = TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);
        var scope = RegistryTestClient.Anonymous();
        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, scope, CancellationToken.None);

        registry.RevokeTokens();
        await using var stream = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), resolved.Layers[0], scope, CancellationToken.None);
        await stream.CopyToAsync(Stream.Null);

        Assert.Equal(2, registry.TokenRequests);
        Assert.Equal(image.Layers[0].Digest, resolved.Layers[0].Digest);
    }

    [Fact]
    public async Task OpenBlobAsync_TokenExpiresWhileBodyDropped_ResumeRefreshesOnceAndSucceeds()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        byte[] content = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        var blob = registry.PutBlob("demo/app", content);
        registry.BlobDropAt = content.Length / 2;
        registry.RevokeTokensOnDrop = true;
        using var client = new RegistryTestClient(registry.Host);

        await using var stream = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, RegistryTestClient.Anonymous(), CancellationToken.None);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(content, copy.ToArray());
        Assert.Equal(2, registry.TokenRequests);
        var last = registry.Requests.Last(r => r.Path.Contains("/blobs/", StringComparison.Ordinal));
        Assert.Equal("Bearer token-2", last.Authorization);
        Assert.StartsWith("bytes=", last.Range);
    }

    [Fact]
    public async Task ResolveAsync_PasswordChanged_FetchesNewTokenInsteadOfReusingCached()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.RequiredCredentials = ("robot", Password);
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);
        await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64,
            new PullScope("tenant-a", new RegistryCredentials("robot", Password)), CancellationToken.None);

        // Same tenant, user and registry, another (wrong) password: the cached token must not be used.
        var ex = await Assert.ThrowsAsync<PipelineException>(() => client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64,
            new PullScope("tenant-a", new RegistryCredentials("robot", "revoked-password")), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
        Assert.Equal(2, registry.TokenRequests);
    }

    [Theory]
    [InlineData("_json_key", "{\n  \"type\": \"service_account\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMII:x==\\n-----END PRIVATE KEY-----\\n\"\n}")]
    [InlineData("oauth2accesstoken", "ya29.a0Af-access_token")]
    [InlineData("octocat", "ghp_0123456789abcdefABCDEF0123456789abcd")]
    public async Task ResolveAsync_ProviderCredentialForms_SentAsBasicToTokenService(string user, string password)
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.RequiredCredentials = (user, password);
        var image = TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64,
            new PullScope("tenant-a", new RegistryCredentials(user, password)), CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest.Digest);
        Assert.DoesNotContain(client.Logs.Lines, l => l.Contains(password));
    }

    [Fact]
    public async Task ResolveAsync_RealmOverPlainHttpNotListed_RejectedWithoutSendingCredentials()
    {
        await using var registry = await FakeRegistry.StartAsync();
        await using var tokens = await FakeRegistry.StartAsync(); // not in InsecureHosts
        registry.RequireToken = true;
        registry.TokenRealm = $"http://{tokens.Host}/token";
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() => client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64,
            new PullScope("tenant-a", new RegistryCredentials("robot", Password)), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
        Assert.Contains("HTTPS", ex.Message);
        Assert.Empty(tokens.Requests);
        AssertNoBasicSent(registry);
    }

    [Fact]
    public async Task ResolveAsync_RealmWithUserInfo_RejectedWithoutSendingCredentials()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.TokenRealm = $"http://attacker:x@{registry.Host}/token";
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() => client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64,
            new PullScope("tenant-a", new RegistryCredentials("robot", Password)), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
        Assert.Equal(0, registry.TokenRequests);
        AssertNoBasicSent(registry);
        Assert.DoesNotContain(Password, ex.ToString());
    }

    [Fact]
    public async Task ResolveAsync_RealmHostResolvesToMetadataAddress_RejectedWithoutConnecting()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.TokenRealm = "https://auth.test/token";
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        var resolver = FakeResolver.Fixed("auth.test", IPAddress.Parse("169.254.169.254"));
        var connector = new RecordingConnector();
        using var client = new RegistryTestClient(RegistryTestClient.Settings(registry.Host), services =>
        {
            services.AddSingleton<IRegistryHostResolver>(resolver);
            services.AddSingleton<IRegistrySocketConnector>(connector);
        });

        var ex = await Assert.ThrowsAsync<PipelineException>(() => client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64,
            new PullScope("tenant-a", new RegistryCredentials("robot", Password)), CancellationToken.None));

        Assert.Equal(ErrorCodes.HostNotAllowed, ex.Code);
        Assert.Equal(["auth.test"], resolver.Lookups);
        Assert.DoesNotContain(connector.Attempts, e => !IPAddress.IsLoopback(e.Address));
        AssertNoBasicSent(registry);
    }

    private static void AssertNoBasicSent(FakeRegistry registry) =>
        Assert.DoesNotContain(registry.Requests, r => r.Authorization.StartsWith("Basic", StringComparison.Ordinal));
}
