using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Pipeline.Oci;

namespace Pipeline.Tests.Fixtures;

public sealed class FixtureTests
{
    [Fact]
    public async Task Azurite_UploadThenDownload_ReturnsSameBytes()
    {
        await using var azurite = await AzuriteFixture.StartAsync();
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(AzuriteFixture.NewContainerName());
        await container.CreateAsync();
        var content = RandomNumberGenerator.GetBytes(100_000);

        await container.GetBlobClient("a/b.bin").UploadAsync(new BinaryData(content));
        var downloaded = await container.GetBlobClient("a/b.bin").DownloadContentAsync();

        Assert.Equal(content, downloaded.Value.Content.ToArray());
        Assert.Contains($"BlobEndpoint=http://127.0.0.1:{azurite.BlobPort}/devstoreaccount1;", azurite.ConnectionString);
    }

    [Fact]
    public async Task Registry_GetV2_Returns200()
    {
        await using var registry = await RegistryFixture.StartAsync();
        using var http = registry.CreateHttpClient();

        using var response = await http.GetAsync("v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"127.0.0.1:{registry.Port}", registry.Host);
    }

    [Fact]
    public async Task TestImages_TwoArchPush_RegistryServesIndexWithReturnedDigest()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var repository = RegistryFixture.NewRepository();

        var image = await TestImages.BuildAndPushAsync(
            registry.Host,
            repository,
            "1",
            [
                ArchSpec.Amd64(LayerSpec.Text("app/hello.txt", "hello amd64\n"), LayerSpec.SeededData(300_000, seed: 7)),
                ArchSpec.ArmV7(LayerSpec.Text("app/hello.txt", "hello armhf\n")),
            ]);

        using var http = registry.CreateHttpClient();
        var index = await GetManifestAsync(http, repository, "1", TestImages.IndexMediaType);
        Assert.Equal(image.IndexDigest, Digest.Compute(index));
        using var doc = JsonDocument.Parse(index);
        var entries = doc.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        var arm = entries.Single(e => e.GetProperty("platform").GetProperty("architecture").GetString() == "arm");
        Assert.Equal("v7", arm.GetProperty("platform").GetProperty("variant").GetString());
        Assert.Equal(image.For("arm", "v7").ManifestDigest.ToString(), arm.GetProperty("digest").GetString());

        // Each manifest and its config are served as built, with the architecture in the config.
        foreach (var m in image.Manifests)
        {
            var manifest = await GetManifestAsync(http, repository, m.ManifestDigest.ToString(), TestImages.ManifestMediaType);
            Assert.Equal(m.ManifestDigest, Digest.Compute(manifest));
            var config = await http.GetByteArrayAsync($"v2/{repository}/blobs/{m.ConfigDigest}");
            Assert.Equal(m.ConfigDigest, Digest.Compute(config));
            using var configDoc = JsonDocument.Parse(config);
            Assert.Equal(m.Architecture, configDoc.RootElement.GetProperty("architecture").GetString());
            Assert.Equal(m.Variant, configDoc.RootElement.TryGetProperty("variant", out var v) ? v.GetString() : null);
        }
        var amd64 = image.For("amd64");
        Assert.Equal(2, amd64.Layers.Count);
        var layer = await http.GetByteArrayAsync($"v2/{repository}/blobs/{amd64.Layers[1].Digest}");
        Assert.Equal(amd64.Layers[1].Size, layer.Length);
        Assert.Equal(amd64.Layers[1].Digest, Digest.Compute(layer));
    }

    [Fact]
    public async Task TestImages_SameDeterministicContent_SameDigests()
    {
        await using var registry = await RegistryFixture.StartAsync();
        ArchSpec[] archs = [ArchSpec.Arm64(LayerSpec.Text("etc/motd", "same\n"), LayerSpec.SeededData(50_000, seed: 3))];

        var first = await TestImages.BuildAndPushAsync(registry.Host, RegistryFixture.NewRepository(), "a", archs);
        var second = await TestImages.BuildAndPushAsync(registry.Host, RegistryFixture.NewRepository(), "b", archs);

        Assert.Null(first.IndexDigest);
        Assert.Equal(first.TopDigest, second.TopDigest);
        Assert.Equal(first.Manifests[0].Layers, second.Manifests[0].Layers);
    }

    [Fact]
    public async Task Registry_WithBasicAuth_Requires401ThenAcceptsCredentials()
    {
        var auth = new RegistryAuth("tester", "s3cret-" + Guid.NewGuid().ToString("N"));
        await using var registry = await RegistryFixture.StartAsync(auth);
        using var anonymous = new HttpClient { BaseAddress = registry.BaseUri };

        using var denied = await anonymous.GetAsync("v2/");
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Equal("Basic", denied.Headers.WwwAuthenticate.Single().Scheme);

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "v2/");
        wrong.Headers.Authorization = new RegistryAuth("tester", "wrong").ToBasicHeader();
        using var wrongResponse = await anonymous.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);

        using var authenticated = registry.CreateHttpClient();
        using var ok = await authenticated.GetAsync("v2/");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        // Pushing needs the credentials too.
        var repository = RegistryFixture.NewRepository();
        var image = await TestImages.PushTwoArchAsync(registry.Host, repository, credentials: auth);
        Assert.Equal(image.IndexDigest, Digest.Compute(await GetManifestAsync(authenticated, repository, "1", TestImages.IndexMediaType)));
    }

    [Fact]
    public async Task Dispose_StopsServices_PidsGone()
    {
        var azurite = await AzuriteFixture.StartAsync();
        var registry = await RegistryFixture.StartAsync();
        int azuritePid = azurite.Pid, registryPid = registry.Pid;
        string azuriteData = azurite.DataDirectory, registryData = registry.StorageDirectory;
        Assert.True(ServiceProcess.IsRunning(azuritePid));
        Assert.True(ServiceProcess.IsRunning(registryPid));
        Assert.EndsWith("node", File.ReadAllText($"/proc/{azuritePid}/comm").Trim(), StringComparison.Ordinal);

        await azurite.DisposeAsync();
        await registry.DisposeAsync();

        Assert.False(ServiceProcess.IsRunning(azuritePid));
        Assert.False(ServiceProcess.IsRunning(registryPid));
        Assert.False(Directory.Exists(azuriteData));
        Assert.False(Directory.Exists(registryData));
    }

    [Fact]
    public async Task ServiceProcess_IgnoresSigterm_KilledAfterGrace()
    {
        var service = ServiceProcess.Start("bash", ["-c", "trap '' TERM; echo started; while true; do sleep 0.1; done"]);
        await WaitForAsync(() => service.ReadLog().Contains("started"));

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await service.StopAsync(TimeSpan.FromMilliseconds(500));

        Assert.False(ServiceProcess.IsRunning(service.Pid));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
        Assert.Equal(137, service.ExitCode);
    }

    [Fact]
    public async Task ProcessRunner_NonZeroExit_ThrowsWithStderr()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(
            () => ProcessRunner.RunAsync("bash", "-c", "echo broken-on-purpose >&2; exit 3"));

        Assert.Contains("exited with code 3", e.Message);
        Assert.Contains("broken-on-purpose", e.Message);
    }

    private static async Task<byte[]> GetManifestAsync(HttpClient http, string repository, string reference, string mediaType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{repository}/manifests/{reference}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET manifest {reference}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        return body;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var watch = System.Diagnostics.Stopwatch.StartNew(); !condition(); await Task.Delay(20))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "condition not met within 10 s");
        }
    }
}
