using System.Text.Json;
using Pipeline.Oci;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Imports;

/// <summary>
/// The slice end to end: an image built by umoci and pushed by skopeo into the CNCF registry,
/// imported through LocalHost's GraphQL API into Azurite, checked against the registry's digests
/// and by downloading the stored bytes again.
/// </summary>
public sealed class ImportEndToEndTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    private static readonly TimeSpan ImportTimeout = TimeSpan.FromMinutes(2);

    private ApiClient Api => pipeline.Api;

    private async Task<(string Customer, string Key)> NewTenantAsync()
    {
        string c = PipelineFixture.NewCustomer();
        return (c, await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "import", "read"));
    }

    private async Task<JsonElement> ImportAndWaitAsync(string key, string customer, string name, params (string Arch, string Reference)[] sources)
    {
        var started = (await Api.ImportAsync(key, customer, name, sources)).Ok().GetProperty("DM_import_node_service");
        Assert.Equal("pending", started.GetProperty("status").GetString());
        return await Api.WaitForImportAsync(key, started.GetProperty("import_id").GetString()!, ImportTimeout);
    }

    [Fact]
    public async Task Import_ThreeArchImage_StoresEveryBlobWithTheRegistrysDigest()
    {
        var (customer, key) = await NewTenantAsync();
        var shared = LayerSpec.Text("etc/base-release", "base");
        var image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("three"), "1",
        [
            ArchSpec.Amd64(shared, LayerSpec.RandomData(3_000_000)),
            ArchSpec.Arm64(shared, LayerSpec.RandomData(2_000_000)),
            ArchSpec.ArmV7(shared, LayerSpec.RandomData(1_000_000)),
        ]);

        var import = await ImportAndWaitAsync(key, customer, "three", ("amd64", image.Reference), ("arm64", image.Reference), ("armhf", image.Reference));

        Assert.Equal("completed", import.GetProperty("status").GetString());
        Assert.Equal(1, import.GetProperty("container_version").GetInt32());
        var progress = import.GetProperty("progress");
        Assert.Equal(progress.GetProperty("bytes_total").GetInt64(), progress.GetProperty("bytes_done").GetInt64());
        Assert.Equal(progress.GetProperty("layers_total").GetInt32(), progress.GetProperty("layers_done").GetInt32());

        var archs = import.GetProperty("architectures").EnumerateArray().ToDictionary(a => a.GetProperty("arch").GetString()!);
        Assert.Equal(["amd64", "arm64", "armhf"], archs.Keys.Order());
        foreach (var (arch, pushed) in new[] { ("amd64", image.For("amd64")), ("arm64", image.For("arm64")), ("armhf", image.For("arm", "v7")) })
        {
            var stored = archs[arch];
            Assert.Equal(pushed.ManifestDigest.ToString(), stored.GetProperty("manifest_digest").GetString());
            Assert.Equal(pushed.ConfigDigest.ToString(), stored.GetProperty("config_digest").GetString());
            var layers = stored.GetProperty("layers").EnumerateArray().ToList();
            Assert.Equal(pushed.Layers.Select(l => l.Digest.ToString()), layers.Select(l => l.GetProperty("digest").GetString()));
            Assert.Equal(pushed.Layers.Select(l => l.Size), layers.Select(l => l.GetProperty("size").GetInt64()));

            // Downloaded again, every stored blob hashes to its name and the registry's digest.
            foreach (var (digest, size) in pushed.Layers.Select(l => (l.Digest, l.Size)).Append((pushed.ConfigDigest, pushed.ConfigSize)))
            {
                var (storedSize, hash) = await pipeline.ReadStoredBlobAsync(digest);
                Assert.Equal(size, storedSize);
                Assert.Equal(digest, hash);
            }
        }

        var list = (await Api.QueryAsync(key, "query($c: ID!) { DM_get_node_services(customer_id: $c) { total services { name node_service_id container_version container_image architectures } } }", new { c = customer })).Ok();
        var page = list.GetProperty("DM_get_node_services");
        Assert.Equal(1, page.GetProperty("total").GetInt32());
        var service = page.GetProperty("services")[0];
        Assert.Equal("three", service.GetProperty("name").GetString());
        Assert.Equal(1, service.GetProperty("container_version").GetInt32());
        Assert.Equal(import.GetProperty("node_service_id").GetString(), service.GetProperty("node_service_id").GetString());
        Assert.Equal(["amd64", "arm64", "armhf"], service.GetProperty("architectures").EnumerateArray().Select(a => a.GetString()!).Order());
    }

    [Fact]
    public async Task Import_UnchangedImageAgain_KeepsTheVersion_ChangedImage_AddsOne()
    {
        var (customer, key) = await NewTenantAsync();
        string repository = RegistryFixture.NewRepository("again");
        var first = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "stable", [ArchSpec.Amd64(LayerSpec.Text("app/v", "1"))]);

        Assert.Equal(1, (await ImportAndWaitAsync(key, customer, "svc", ("amd64", first.Reference))).GetProperty("container_version").GetInt32());
        Assert.Equal(1, (await ImportAndWaitAsync(key, customer, "svc", ("amd64", first.Reference))).GetProperty("container_version").GetInt32());

        await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "stable", [ArchSpec.Amd64(LayerSpec.Text("app/v", "2"))]);
        var second = await ImportAndWaitAsync(key, customer, "svc", ("amd64", first.Reference));
        Assert.Equal(2, second.GetProperty("container_version").GetInt32());
    }

    [Fact]
    public async Task Import_ArchAbsentFromIndex_FailsArchMismatchAndCommitsNothing()
    {
        var (customer, key) = await NewTenantAsync();
        var image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("amd"), "1",
            [ArchSpec.Amd64(LayerSpec.Text("a", "a")), ArchSpec.Arm64(LayerSpec.Text("b", "b"))], forceIndex: true);

        var import = await ImportAndWaitAsync(key, customer, "svc", ("amd64", image.Reference), ("armhf", image.Reference));

        Assert.Equal("failed", import.GetProperty("status").GetString());
        Assert.Equal("ARCH_MISMATCH", import.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("linux/arm64", import.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, import.GetProperty("container_version").ValueKind);
        var list = (await Api.QueryAsync(key, "query($c: ID!) { DM_get_node_services(customer_id: $c) { total } }", new { c = customer })).Ok();
        Assert.Equal(0, list.GetProperty("DM_get_node_services").GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Import_MissingImage_FailsImageNotFound()
    {
        var (customer, key) = await NewTenantAsync();
        var import = await ImportAndWaitAsync(key, customer, "svc", ("amd64", pipeline.Registry.Host + "/no/such:1"));
        Assert.Equal("failed", import.GetProperty("status").GetString());
        Assert.Equal("IMAGE_NOT_FOUND", import.GetProperty("error").GetProperty("code").GetString());
    }
}
