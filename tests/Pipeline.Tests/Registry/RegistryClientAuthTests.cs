using System.Net;
using Pipeline.Oci;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

public sealed class RegistryClientAuthTests
{
    private const string Password = "canary-Pa55word-7f3c";

    [Fact]
    public async Task ResolveAsync_BearerRequired_FetchesTokenAndResolves()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        var image = TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest.Digest);
        // One token for the repository, reused for the config blob.
        Assert.Equal(1, registry.TokenRequests);
        var tokenRequest = registry.Requests.Single(r => r.Path == "/token");
        Assert.Equal("", tokenRequest.Authorization);
    }

    [Fact]
    public async Task ResolveAsync_BearerWithCredentials_SendsBasicOnlyToTokenService()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.RequiredCredentials = ("robot", Password);
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);
        var scope = new PullScope("tenant-a", new RegistryCredentials("robot", Password));

        await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, scope, CancellationToken.None);

        Assert.Equal(FakeRegistry.BasicHeader("robot", Password), registry.Requests.Single(r => r.Path == "/token").Authorization);
        Assert.All(registry.Requests.Where(r => r.Path.StartsWith("/v2/", StringComparison.Ordinal)),
            r => Assert.DoesNotContain("Basic", r.Authorization));
        Assert.DoesNotContain(client.Logs.Lines, l => l.Contains(Password) || l.Contains(FakeRegistry.BasicHeader("robot", Password)[6..]));
    }

    [Fact]
    public async Task ResolveAsync_CachedTokenRevoked_RefreshesOnceAndSucceeds()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);
        var scope = RegistryTestClient.Anonymous();
        await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, scope, CancellationToken.None);
        Assert.Equal(1, registry.TokenRequests);

        registry.RevokeTokens(); // the cached token "expires" on the registry's side
        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, scope, CancellationToken.None);

        Assert.Equal(2, registry.TokenRequests);
        Assert.NotNull(resolved);
        Assert.Equal(2, registry.Requests.Count(r => r.Path == "/v2/demo/app/manifests/1" && r.Authorization == "Bearer token-1"));
    }

    [Fact]
    public async Task ResolveAsync_TokenRejectedAfterRefresh_ThrowsAuthFailedAfterOneRetry()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        // Tokens are issued but never valid.
        registry.TokenBody = _ => """{"access_token":"never-valid"}""";
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
        Assert.Equal(1, registry.TokenRequests);
        Assert.Equal(2, registry.Requests.Count(r => r.Path.Contains("/manifests/")));
    }

    [Fact]
    public async Task ResolveAsync_TokenServiceRefusesPassword_ThrowsAuthFailedWithoutPassword()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.RequiredCredentials = ("robot", "the-right-one");
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);
        var scope = new PullScope("tenant-a", new RegistryCredentials("robot", Password));

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
        Assert.DoesNotContain(Password, ex.ToString());
        Assert.DoesNotContain(client.Logs.Lines, l => l.Contains(Password));
    }

    [Fact]
    public async Task ResolveAsync_TokenResponseOver1MiB_ThrowsAuthFailed()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        registry.TokenBody = token => $"{{\"token\":\"{token}\",\"padding\":\"{new string('x', 1024 * 1024)}\"}}";
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
        Assert.Contains("1 MiB", ex.Message);
    }

    [Fact]
    public async Task ResolveAsync_TwoTenants_GetSeparateTokens()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequireToken = true;
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous("tenant-a"), CancellationToken.None);
        await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous("tenant-b"), CancellationToken.None);

        Assert.Equal(2, registry.TokenRequests);
        Assert.Contains(registry.Requests, r => r.Authorization == "Bearer token-2");
    }

    [Fact]
    public async Task ResolveAsync_BasicAuthRegistry_SendsCredentialsAfterChallenge()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequiredCredentials = ("robot", Password);
        var image = TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);
        var scope = new PullScope("tenant-a", new RegistryCredentials("robot", Password));

        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, scope, CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest.Digest);
        // After the first challenge, Basic is sent straight away.
        Assert.Single(registry.Requests, r => r.Authorization == "");
    }

    [Fact]
    public async Task ResolveAsync_BasicAuthRegistryWithoutCredentials_ThrowsAuthFailed()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequiredCredentials = ("robot", Password);
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_WrongBasicPassword_ThrowsAuthFailedWithoutPassword()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.RequiredCredentials = ("robot", "the-right-one");
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);
        var scope = new PullScope("tenant-a", new RegistryCredentials("robot", Password));

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
        Assert.DoesNotContain(Password, ex.ToString());
        Assert.Equal(2, registry.Requests.Count);
    }

    [Fact]
    public async Task ResolveAsync_Registry503_ThrowsUnreachableAfterQuickRetries()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.FailWith = HttpStatusCode.ServiceUnavailable;
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryUnreachable, ex.Code);
        Assert.Equal(3, registry.Requests.Count);
    }

    [Fact]
    public async Task ResolveAsync_NothingListening_ThrowsUnreachable()
    {
        string host;
        await using (var gone = await FakeRegistry.StartAsync())
        {
            host = gone.Host;
        }
        using var client = new RegistryTestClient(host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(ImageReference.Parse($"{host}/demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryUnreachable, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_LoopbackHostNotInsecure_ThrowsHostNotAllowedWithoutRequest()
    {
        await using var registry = await FakeRegistry.StartAsync();
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(); // 127.0.0.1 is not listed as insecure

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.HostNotAllowed, ex.Code);
        Assert.Empty(registry.Requests);
    }
}
