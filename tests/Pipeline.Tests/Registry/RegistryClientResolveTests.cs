using System.Text;
using Pipeline.Oci;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

public sealed class RegistryClientResolveTests
{
    private static readonly PullScope Scope = RegistryTestClient.Anonymous();

    [Fact]
    public async Task ResolveAsync_IndexWithAmd64Entry_ReturnsAmd64ManifestConfigAndLayers()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var arm = TestImages.PushImage(registry, "demo/app", "arm64");
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        TestImages.PushIndex(registry, "demo/app", "1", arm, amd);
        using var client = new RegistryTestClient(registry.Host);

        var image = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None);

        Assert.Equal(amd.Manifest.Digest, image.Manifest.Digest);
        Assert.Equal(amd.Manifest.Size, image.Manifest.Size);
        Assert.Equal(MediaTypes.OciManifest, image.Manifest.MediaType);
        Assert.Equal(amd.Config.Digest, image.Config.Digest);
        Assert.Equal(amd.Config.Size, image.Config.Size);
        Assert.Equal(amd.Layers.Select(l => l.Digest), image.Layers.Select(l => l.Digest));
        Assert.Equal(Architectures.Amd64, image.Arch);
        Assert.Empty(image.Warnings);
        // Only OCI/Docker schema2 types are asked for, never schema1.
        var accept = registry.Requests.First(r => r.Path.Contains("/manifests/")).Accept;
        Assert.Contains(MediaTypes.OciIndex, accept);
        Assert.Contains(MediaTypes.DockerManifest, accept);
        Assert.DoesNotContain(MediaTypes.DockerSchema1, accept);
        Assert.DoesNotContain(MediaTypes.DockerSchema1Signed, accept);
    }

    [Fact]
    public async Task ResolveAsync_DockerManifestListWithArmV7_ReturnsArmhfManifest()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var config = registry.PutBlob("demo/app", TestImages.Config("arm", "v7"), MediaTypes.DockerConfig);
        var layer = registry.PutBlob("demo/app", TestImages.Layer("arm layer"), MediaTypes.DockerLayerGzip);
        var manifest = registry.PutManifest("demo/app", null, TestImages.Manifest(config, [layer], MediaTypes.DockerManifest), MediaTypes.DockerManifest);
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        registry.PutManifest("demo/app", "1", TestImages.Index(
            [amd.Manifest with { MediaType = MediaTypes.OciManifest }, manifest with { Platform = new Platform("linux", "arm", "v7") }],
            MediaTypes.DockerManifestList), MediaTypes.DockerManifestList);
        using var client = new RegistryTestClient(registry.Host);

        var image = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Armhf, Scope, CancellationToken.None);

        Assert.Equal(manifest.Digest, image.Manifest.Digest);
        Assert.Equal(MediaTypes.DockerManifest, image.Manifest.MediaType);
        Assert.Equal(layer.Digest, Assert.Single(image.Layers).Digest);
    }

    [Fact]
    public async Task ResolveAsync_ArchAbsentFromIndex_ThrowsArchMismatchNamingOfferedPlatforms()
    {
        await using var registry = await FakeRegistry.StartAsync();
        TestImages.PushIndex(registry, "demo/app", "1",
            TestImages.PushImage(registry, "demo/app", "arm64"), TestImages.PushImage(registry, "demo/app", "arm", "v7"));
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ArchMismatch, ex.Code);
        Assert.Contains("linux/arm64", ex.Message);
        Assert.Contains("linux/arm/v7", ex.Message);
    }

    [Fact]
    public async Task ResolveAsync_ConfigArchDiffersFromIndexEntry_ThrowsArchMismatch()
    {
        await using var registry = await FakeRegistry.StartAsync();
        // The index claims amd64, but the image's config says arm64.
        var liar = TestImages.PushImage(registry, "demo/app", "amd64", configArchitecture: "arm64");
        TestImages.PushIndex(registry, "demo/app", "1", liar);
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ArchMismatch, ex.Code);
        Assert.Contains("linux/arm64", ex.Message);
    }

    [Fact]
    public async Task ResolveAsync_SingleManifestWithMatchingConfig_Resolves()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var image = TestImages.PushImage(registry, "demo/app", "arm64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Arm64, Scope, CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest.Digest);
        Assert.Equal(image.Config.Digest, resolved.Config.Digest);
    }

    [Fact]
    public async Task ResolveAsync_SingleManifestOtherArch_ThrowsArchMismatch()
    {
        await using var registry = await FakeRegistry.StartAsync();
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Arm64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ArchMismatch, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_ArmhfConfigWithoutVariant_ResolvesWithWarning()
    {
        await using var registry = await FakeRegistry.StartAsync();
        TestImages.PushImage(registry, "demo/app", "arm", tag: "1");
        using var client = new RegistryTestClient(registry.Host);

        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Armhf, Scope, CancellationToken.None);

        Assert.Contains("without a variant", Assert.Single(resolved.Warnings));
    }

    [Fact]
    public async Task ResolveAsync_DigestReferenceBodyHashesElsewhere_ThrowsDigestMismatch()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var image = TestImages.PushImage(registry, "demo/app", "amd64");
        var asked = Digest.Compute(Encoding.UTF8.GetBytes("something else"));
        var body = TestImages.Manifest(image.Config, image.Layers);
        registry.PutManifestRaw("demo/app", asked.ToString(), body, MediaTypes.OciManifest, asked.ToString());
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() =>
            client.Client.ResolveAsync(registry.Reference($"demo/app@{asked}"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.DigestMismatch, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_DigestReferenceMatchingBody_Resolves()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var image = TestImages.PushImage(registry, "demo/app", "amd64");
        using var client = new RegistryTestClient(registry.Host);

        var resolved = await client.Client.ResolveAsync(
            registry.Reference($"demo/app@{image.Manifest.Digest}"), Architectures.Amd64, Scope, CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest.Digest);
    }

    [Fact]
    public async Task ResolveAsync_TagWithLyingDockerContentDigest_ThrowsDigestMismatch()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var image = TestImages.PushImage(registry, "demo/app", "amd64");
        var other = Digest.Compute(Encoding.UTF8.GetBytes("not this manifest"));
        registry.PutManifestRaw("demo/app", "1", TestImages.Manifest(image.Config, image.Layers), MediaTypes.OciManifest, other.ToString());
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Contains(other.ToString(), ex.Message);
    }

    [Fact]
    public async Task ResolveAsync_IndexEntryServedWithOtherBody_ThrowsDigestMismatch()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        var arm = TestImages.PushImage(registry, "demo/app", "arm64");
        TestImages.PushIndex(registry, "demo/app", "1", amd);
        // The registry answers the amd64 manifest's digest with the arm64 manifest's bytes.
        registry.PutManifestRaw("demo/app", amd.Manifest.Digest.ToString(), TestImages.Manifest(arm.Config, arm.Layers), MediaTypes.OciManifest, null);
        using var client = new RegistryTestClient(registry.Host);

        await Assert.ThrowsAsync<DigestMismatchException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));
    }

    [Fact]
    public async Task ResolveAsync_ConfigBlobCorrupted_ThrowsDigestMismatch()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var image = TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        byte[] corrupted = TestImages.Config("amd64");
        corrupted[^2] ^= 0x20;
        Assert.Equal(image.Config.Size, corrupted.Length);
        registry.PutBlobRaw("demo/app", image.Config.Digest, corrupted);
        using var client = new RegistryTestClient(registry.Host);

        await Assert.ThrowsAsync<DigestMismatchException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));
    }

    [Fact]
    public async Task ResolveAsync_UnknownTag_ThrowsImageNotFound()
    {
        await using var registry = await FakeRegistry.StartAsync();
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:missing"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ImageNotFound, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_UnknownArch_ThrowsBadInputWithoutRequest()
    {
        await using var registry = await FakeRegistry.StartAsync();
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), "mips", Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.Empty(registry.Requests);
    }
}
