using Azure.Data.Tables;
using Pipeline.Oci;
using Pipeline.Snapshots;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Imports;

/// <summary>Several tenants and imports touching the same blobs (TEST-MATRIX rows 21, 26) and one service (serialised imports).</summary>
public sealed class ImportTenancyTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    private ApiClient Api => pipeline.Api;

    private async Task<(string Customer, string Key)> NewTenantAsync()
    {
        string c = PipelineFixture.NewCustomer();
        return (c, await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "import", "read"));
    }

    private async Task<System.Text.Json.JsonElement> ImportAsync(string key, string customer, string name, string reference) =>
        await Api.ImportAndWaitAsync(key, customer, new System.Text.Json.Nodes.JsonObject
        {
            ["name"] = name,
            ["image_sources"] = ApiClient.Sources([("amd64", reference)]),
        });

    /// <summary>Removes a blob from one repository of the registry (the registry keeps it for others).</summary>
    private async Task UnlinkBlobAsync(string repository, Digest digest)
    {
        using var http = pipeline.Registry.CreateHttpClient();
        var response = await http.DeleteAsync($"v2/{repository}/blobs/{digest}");
        Assert.True(response.IsSuccessStatusCode, $"DELETE blob: {response.StatusCode}");
    }

    private async Task<bool> OwnsAsync(string customer, Digest digest)
    {
        var table = new TableClient(pipeline.Azurite.ConnectionString, BlobOwnershipStore.Table);
        return (await table.GetEntityIfExistsAsync<TableEntity>(customer, digest.Hex)).HasValue;
    }

    [Fact]
    public async Task Import_LayerAnotherTenantStoredButOwnRegistryDenies_FailsLikeAnUnknownBlobAndLinksNothing()
    {
        var (a, keyA) = await NewTenantAsync();
        var (b, keyB) = await NewTenantAsync();
        var layer = LayerSpec.SeededData(200_000, Random.Shared.Next());
        var imageA = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("ta"), "1", [ArchSpec.Amd64(layer)]);
        var shared = imageA.For("amd64").Layers[0].Digest;
        Assert.Equal("completed", (await ImportAsync(keyA, a, "svc", imageA.Reference)).GetProperty("status").GetString());

        // B's repository has the same image, but its registry no longer serves that layer to B.
        string repoB = RegistryFixture.NewRepository("tb");
        var imageB = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repoB, "1", [ArchSpec.Amd64(layer)]);
        Assert.Equal(shared, imageB.For("amd64").Layers[0].Digest);
        await UnlinkBlobAsync(repoB, shared);
        var denied = await ImportAsync(keyB, b, "svc", imageB.Reference);

        // Control: a layer nobody has stored, likewise not served.
        string repoC = RegistryFixture.NewRepository("tc");
        var imageC = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repoC, "1", [ArchSpec.Amd64(LayerSpec.RandomData(200_000))]);
        var unknown = imageC.For("amd64").Layers[0].Digest;
        await UnlinkBlobAsync(repoC, unknown);
        var control = await ImportAsync(keyB, b, "svc2", imageC.Reference);

        Assert.Equal("failed", denied.GetProperty("status").GetString());
        Assert.Equal("failed", control.GetProperty("status").GetString());
        string code = denied.GetProperty("error").GetProperty("code").GetString()!;
        Assert.Contains(code, new[] { "IMAGE_NOT_FOUND", "REGISTRY_AUTH_FAILED" });
        Assert.Equal(code, control.GetProperty("error").GetProperty("code").GetString());
        string Normalise(System.Text.Json.JsonElement import, string repo, Digest d) =>
            import.GetProperty("error").GetProperty("message").GetString()!.Replace(d.ToString(), "<digest>", StringComparison.Ordinal).Replace(repo, "<repo>", StringComparison.Ordinal);
        Assert.Equal(Normalise(control, repoC, unknown), Normalise(denied, repoB, shared));
        Assert.False(await OwnsAsync(b, shared));
        Assert.True(await OwnsAsync(a, shared));
    }

    [Fact]
    public async Task Import_LayerAnotherTenantStoredAndOwnRegistryServes_LinksWithoutFetching()
    {
        var (a, keyA) = await NewTenantAsync();
        var (b, keyB) = await NewTenantAsync();
        var layer = LayerSpec.SeededData(300_000, Random.Shared.Next());
        var imageA = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("la"), "1", [ArchSpec.Amd64(layer)]);
        var imageB = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("lb"), "1", [ArchSpec.Amd64(layer)]);
        Assert.Equal("completed", (await ImportAsync(keyA, a, "svc", imageA.Reference)).GetProperty("status").GetString());

        var importB = await ImportAsync(keyB, b, "svc", imageB.Reference);

        Assert.Equal("completed", importB.GetProperty("status").GetString());
        var digest = imageB.For("amd64").Layers[0].Digest;
        Assert.True(await OwnsAsync(b, digest));
        // The shared layer was linked after B's registry answered for it, not downloaded again.
        Assert.True(importB.GetProperty("progress").GetProperty("bytes_fetched").GetInt64() < imageB.For("amd64").Layers[0].Size);
    }

    [Fact]
    public async Task Import_SameLayerByTwoImportsAtOnce_OneBlobBothSucceed()
    {
        var (a, keyA) = await NewTenantAsync();
        var (b, keyB) = await NewTenantAsync();
        var image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("race"), "1",
            [ArchSpec.Amd64(LayerSpec.RandomData(20_000_000), LayerSpec.RandomData(5_000_000, "data/b.bin"))]);

        var results = await Task.WhenAll(ImportAsync(keyA, a, "svc", image.Reference), ImportAsync(keyB, b, "svc", image.Reference));

        Assert.All(results, r => Assert.Equal("completed", r.GetProperty("status").GetString()));
        foreach (var layer in image.For("amd64").Layers)
        {
            var (size, hash) = await pipeline.ReadStoredBlobAsync(layer.Digest);
            Assert.Equal(layer.Size, size);
            Assert.Equal(layer.Digest, hash);
            Assert.True(await OwnsAsync(a, layer.Digest));
            Assert.True(await OwnsAsync(b, layer.Digest));
        }
    }

    [Fact]
    public async Task Import_SameServiceTwiceAtOnce_SecondWaitsAndBothComplete()
    {
        var (c, key) = await NewTenantAsync();
        var image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("serial"), "1",
            [ArchSpec.Amd64(LayerSpec.RandomData(10_000_000))]);

        var results = await Task.WhenAll(ImportAsync(key, c, "svc", image.Reference), ImportAsync(key, c, "svc", image.Reference));

        Assert.All(results, r => Assert.Equal("completed", r.GetProperty("status").GetString()));
        // One version: the second import ran after the first and found the image unchanged.
        Assert.All(results, r => Assert.Equal(1, r.GetProperty("container_version").GetInt32()));
        Assert.Contains(results, r => r.GetProperty("progress").GetProperty("bytes_fetched").GetInt64() == 0);
    }
}
