using System.Security.Cryptography;
using Pipeline.Oci;
using Pipeline.Registry;
using Pipeline.Tests.Fixtures;
using ArchSpec = Pipeline.Tests.Fixtures.ArchSpec;
using LayerSpec = Pipeline.Tests.Fixtures.LayerSpec;
using RealImages = Pipeline.Tests.Fixtures.TestImages;

namespace Pipeline.Tests.Registry;

/// <summary>
/// The client against the real CNCF registry (<c>docker-registry</c>): anonymous, htpasswd Basic, and
/// Bearer tokens from <see cref="RegistryTokenServer"/> with scopes; multi-arch images with amd64,
/// arm64 and arm/v7 built by umoci and pushed by skopeo (independent implementations).
/// </summary>
public sealed class RegistryClientCncfTests
{
    private static readonly ArchSpec[] ThreeArchs =
    [
        ArchSpec.Amd64(LayerSpec.Text("app/id.txt", "amd64\n"), LayerSpec.RandomData(300_000)),
        ArchSpec.Arm64(LayerSpec.Text("app/id.txt", "arm64\n")),
        ArchSpec.ArmV7(LayerSpec.Text("app/id.txt", "armhf\n"), LayerSpec.RandomData(100_000)),
    ];

    [Fact]
    public async Task ResolveAndOpenBlob_AnonymousMultiArch_EachArchMatchesWhatSkopeoPushed()
    {
        await using var registry = await RegistryFixture.StartAsync();
        string repository = RegistryFixture.NewRepository();
        var pushed = await RealImages.BuildAndPushAsync(registry.Host, repository, "1", ThreeArchs);
        using var client = new RegistryTestClient(registry.Host);
        var scope = RegistryTestClient.Anonymous();

        foreach (var (arch, architecture, variant) in new[] { ("amd64", "amd64", (string?)null), ("arm64", "arm64", null), ("armhf", "arm", "v7") })
        {
            var expected = pushed.For(architecture, variant);
            var resolved = await client.Client.ResolveAsync(ImageReference.Parse(pushed.Reference), arch, scope, CancellationToken.None);

            Assert.Equal(expected.ManifestDigest, resolved.Manifest.Digest);
            Assert.Equal(expected.ConfigDigest, resolved.Config.Digest);
            Assert.Equal(expected.Layers.Select(l => l.Digest), resolved.Layers.Select(l => l.Digest));
            await AssertLayersReadAsync(client, resolved, scope);
        }

        var byDigest = await client.Client.ResolveAsync(ImageReference.Parse(pushed.DigestReference), "arm64", scope, CancellationToken.None);
        Assert.Equal(pushed.For("arm64").ManifestDigest, byDigest.Manifest.Digest);
    }

    [Fact]
    public async Task ResolveAsync_HtpasswdBasic_NeedsTheRightPassword()
    {
        var auth = new RegistryAuth("robot", "htpasswd-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)));
        await using var registry = await RegistryFixture.StartAsync(auth);
        var pushed = await RealImages.PushTwoArchAsync(registry.Host, RegistryFixture.NewRepository(), credentials: auth);
        using var client = new RegistryTestClient(registry.Host);

        var resolved = await client.Client.ResolveAsync(ImageReference.Parse(pushed.Reference), "arm64",
            new PullScope("tenant-a", new RegistryCredentials(auth.User, auth.Password)), CancellationToken.None);
        await AssertLayersReadAsync(client, resolved, new PullScope("tenant-a", new RegistryCredentials(auth.User, auth.Password)));
        var anonymous = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(ImageReference.Parse(pushed.Reference), "arm64", RegistryTestClient.Anonymous(), CancellationToken.None));
        var wrong = await Assert.ThrowsAsync<PipelineException>(() => client.Client.ResolveAsync(ImageReference.Parse(pushed.Reference), "arm64",
            new PullScope("tenant-b", new RegistryCredentials(auth.User, "not-" + auth.Password)), CancellationToken.None));

        Assert.Equal(pushed.For("arm64").ManifestDigest, resolved.Manifest.Digest);
        Assert.Equal(ErrorCodes.RegistryAuthFailed, anonymous.Code);
        Assert.Equal(ErrorCodes.RegistryAuthFailed, wrong.Code);
        Assert.DoesNotContain(auth.Password, wrong.ToString());
        Assert.DoesNotContain(client.Logs.Lines, l => l.Contains(auth.Password));
    }

    [Fact]
    public async Task ResolveAndOpenBlob_BearerTokenServer_UsesPullScopedTokens()
    {
        await using var tokens = await RegistryTokenServer.StartAsync();
        string pusherPassword = "push-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6));
        string readerPassword = "read-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6));
        tokens.AddUser("pusher", pusherPassword, "pull", "push");
        tokens.AddUser("reader", readerPassword, "pull");
        await using var registry = await RegistryFixture.StartWithAuthSectionAsync(tokens.RegistryAuthSection);
        string repository = RegistryFixture.NewRepository();
        var pushed = await RealImages.BuildAndPushAsync(registry.Host, repository, "1", ThreeArchs, new RegistryAuth("pusher", pusherPassword));
        // The token realm is plain HTTP on loopback: it must be listed like the registry.
        string tokenHost = new Uri(tokens.Realm).Authority;
        using var client = new RegistryTestClient(registry.Host, tokenHost);
        var reader = new PullScope("tenant-a", new RegistryCredentials("reader", readerPassword));
        tokens.Requests.Clear();

        var resolved = await client.Client.ResolveAsync(ImageReference.Parse(pushed.Reference), "armhf", reader, CancellationToken.None);
        await AssertLayersReadAsync(client, resolved, reader);
        var anonymous = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(ImageReference.Parse(pushed.Reference), "armhf", RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(pushed.For("arm", "v7").ManifestDigest, resolved.Manifest.Digest);
        Assert.Equal(ErrorCodes.RegistryAuthFailed, anonymous.Code);
        var first = tokens.Requests.First();
        Assert.Equal(("reader", $"repository:{repository}:pull", RegistryTokenServer.Service, $"repository:{repository}:pull"), first);
        // One token served the whole resolve and every layer; the anonymous attempt got one without actions.
        Assert.Single(tokens.Requests, r => r.User == "reader");
        Assert.Contains(tokens.Requests, r => r.User == "" && r.Granted == $"repository:{repository}:");
        Assert.DoesNotContain(client.Logs.Lines, l => l.Contains(readerPassword));
    }

    [Fact]
    public async Task ResolveAsync_BearerTokenServerRefusesPassword_ThrowsAuthFailed()
    {
        await using var tokens = await RegistryTokenServer.StartAsync();
        await using var registry = await RegistryFixture.StartWithAuthSectionAsync(tokens.RegistryAuthSection);
        using var client = new RegistryTestClient(registry.Host, new Uri(tokens.Realm).Authority);

        var ex = await Assert.ThrowsAsync<PipelineException>(() => client.Client.ResolveAsync(
            ImageReference.Parse($"{registry.Host}/some/repo:1"), "amd64", new PullScope("tenant-a", new RegistryCredentials("nobody", "wrong-password")), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthFailed, ex.Code);
        Assert.Single(tokens.Requests, r => r.Granted == "refused");
    }

    private static async Task AssertLayersReadAsync(RegistryTestClient client, ResolvedImage resolved, PullScope scope)
    {
        foreach (var layer in resolved.Layers)
        {
            await using var stream = await client.Client.OpenBlobAsync(resolved.Reference, layer, scope, CancellationToken.None);
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(layer.Digest, Digest.Compute(copy.ToArray()));
        }
    }
}
