using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Oci;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

public sealed class RegistryClientManifestValidationTests
{
    private static readonly PullScope Scope = RegistryTestClient.Anonymous();

    [Fact]
    public async Task ResolveAsync_DockerSchema1_ThrowsManifestInvalidSayingSchema1Unsupported()
    {
        await using var registry = await FakeRegistry.StartAsync();
        byte[] schema1 = Encoding.UTF8.GetBytes(
            """{"schemaVersion":1,"name":"demo/app","tag":"1","architecture":"amd64","fsLayers":[],"history":[],"signatures":[]}""");
        // A signed schema1 body never hashes to its Docker-Content-Digest, which must not mask the real problem.
        registry.PutManifestRaw("demo/app", "1", schema1, MediaTypes.DockerSchema1Signed, Digest.Compute("x"u8).ToString());
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
        Assert.Contains("schema1", ex.Message);
        Assert.Contains("unsupported", ex.Message);
    }

    [Fact]
    public async Task ResolveAsync_Schema1BodyServedAsJson_ThrowsManifestInvalidSayingSchema1()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.PutManifest("demo/app", "1", Encoding.UTF8.GetBytes("""{"schemaVersion":1,"fsLayers":[]}"""), "application/json");
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
        Assert.Contains("schema1", ex.Message);
    }

    [Fact]
    public async Task ResolveAsync_DocumentWithManifestsAndLayers_ThrowsManifestInvalid()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        var doc = JsonNode.Parse(TestImages.Index([amd.Manifest]))!.AsObject();
        doc["layers"] = new JsonArray([.. amd.Layers.Select(l => (JsonNode)TestImages.Node(l))]);
        registry.PutManifest("demo/app", "1", TestImages.Json(doc), MediaTypes.OciIndex);
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
        Assert.Contains("both", ex.Message);
    }

    [Fact]
    public async Task ResolveAsync_MediaTypeDiffersFromContentType_ThrowsManifestInvalid()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        // An image manifest body (mediaType OCI manifest) served as an index.
        registry.PutManifest("demo/app", "1", TestImages.Manifest(amd.Config, amd.Layers), MediaTypes.OciIndex);
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
        Assert.Contains("Content-Type", ex.Message);
    }

    [Fact]
    public async Task ResolveAsync_OciManifestWithoutMediaTypeField_ResolvesByContentType()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        registry.PutManifest("demo/app", "1", TestImages.Manifest(amd.Config, amd.Layers, withMediaType: false), MediaTypes.OciManifest);
        using var client = new RegistryTestClient(registry.Host);

        var image = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None);

        Assert.Equal(MediaTypes.OciManifest, image.Manifest.MediaType);
    }

    [Fact]
    public async Task ResolveAsync_DuplicateLayersProperty_ThrowsManifestInvalid()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        string body = Encoding.UTF8.GetString(TestImages.Manifest(amd.Config, amd.Layers));
        body = body[..^1] + ",\"layers\":[]}";
        registry.PutManifest("demo/app", "1", Encoding.UTF8.GetBytes(body), MediaTypes.OciManifest);
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_DescriptorUrls_AreIgnored()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        var doc = JsonNode.Parse(TestImages.Manifest(amd.Config, amd.Layers))!.AsObject();
        doc["layers"]![0]!["urls"] = new JsonArray("http://169.254.169.254/foreign-layer");
        registry.PutManifest("demo/app", "1", TestImages.Json(doc), MediaTypes.OciManifest);
        using var client = new RegistryTestClient(registry.Host);

        var image = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None);
        await using var layer = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), image.Layers[0], Scope, CancellationToken.None);
        await layer.CopyToAsync(Stream.Null);

        Assert.Equal(amd.Layers[0].Digest, image.Layers[0].Digest);
        Assert.Contains(registry.Requests, r => r.Path.EndsWith(amd.Layers[0].Digest.ToString(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ResolveAsync_ManifestOver4MiB_ThrowsTooLarge(bool withContentLength)
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.OmitManifestContentLength = !withContentLength;
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        var doc = JsonNode.Parse(TestImages.Manifest(amd.Config, amd.Layers))!.AsObject();
        doc["annotations"] = new JsonObject { ["padding"] = new string('x', 4 * 1024 * 1024) };
        registry.PutManifest("demo/app", "1", TestImages.Json(doc), MediaTypes.OciManifest);
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.TooLarge, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_EndlessManifestBody_ThrowsTooLarge()
    {
        await using var registry = await FakeRegistry.StartAsync();
        registry.EndlessManifests = true;
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.TooLarge, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_IndexEntryLargerThan4MiB_ThrowsTooLargeWithoutFetchingIt()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var amd = TestImages.PushImage(registry, "demo/app", "amd64");
        var huge = amd with { Manifest = amd.Manifest with { Size = 5L * 1024 * 1024 } };
        TestImages.PushIndex(registry, "demo/app", "1", huge);
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.TooLarge, ex.Code);
        Assert.DoesNotContain(registry.Requests, r => r.Path.EndsWith(amd.Manifest.Digest.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResolveAsync_ConfigNotAnImageConfig_ThrowsManifestInvalid()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var config = registry.PutBlob("demo/app", "{}"u8.ToArray(), "application/vnd.cncf.helm.config.v1+json");
        var layer = registry.PutBlob("demo/app", TestImages.Layer("chart"));
        registry.PutManifest("demo/app", "1", TestImages.Manifest(config, [layer]), MediaTypes.OciManifest);
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
    }

    [Fact]
    public async Task ResolveAsync_ConfigOver4MiB_ThrowsTooLargeWithoutFetchingIt()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var config = registry.PutBlob("demo/app", new byte[(4 * 1024 * 1024) + 1], MediaTypes.OciConfig);
        var layer = registry.PutBlob("demo/app", TestImages.Layer("x"));
        registry.PutManifest("demo/app", "1", TestImages.Manifest(config, [layer]), MediaTypes.OciManifest);
        using var client = new RegistryTestClient(registry.Host);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.TooLarge, ex.Code);
        Assert.DoesNotContain(registry.Requests, r => r.Path.Contains("/blobs/", StringComparison.Ordinal));
    }
}
