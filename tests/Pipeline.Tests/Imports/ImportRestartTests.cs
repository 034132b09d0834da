using Azure.Data.Tables;
using Pipeline.Snapshots;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Imports;

/// <summary>
/// TEST-MATRIX row 29: LocalHost killed (SIGKILL) while an import copies layers, then started
/// again on the same task hub: the import resumes and completes, with one version. The first
/// process reads the registry through a proxy paced at <see cref="PacedBytesPerSecond"/>, so the
/// copy is still in flight when it is killed on any machine; the second reads at full speed.
/// </summary>
public sealed class ImportRestartTests : IAsyncLifetime
{
    /// <summary>192 MB of layers take 12 s at this rate; the kill comes within about 2 s.</summary>
    private const long PacedBytesPerSecond = 16L * 1024 * 1024;

    private AzuriteFixture _azurite = null!;
    private RegistryFixture _registry = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.GetSharedAsync();
        _registry = await RegistryFixture.StartAsync();
    }

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    [Fact]
    public async Task Import_LocalHostKilledMidCopy_CompletesAfterRestartWithOneVersion()
    {
        var image = await TestImages.BuildAndPushAsync(_registry.Host, RegistryFixture.NewRepository("kill"), "1",
            [ArchSpec.Amd64(LayerSpec.RandomData(96_000_000), LayerSpec.RandomData(96_000_000, "data/second.bin"))]);
        string customer = PipelineFixture.NewCustomer();
        string taskHub = "kill" + Guid.NewGuid().ToString("N")[..10];
        await using var proxy = ThrottledTcpProxy.Start(_registry.Host, PacedBytesPerSecond);
        string reference = $"{proxy.Host}/{image.Repository}:{image.Tag}";
        string insecure = $"{_registry.Host},{proxy.Host}";

        string importId, key;
        var first = await LocalHostProcess.StartAsync(_azurite, insecure, taskHub);
        try
        {
            using var api = new ApiClient(first.BaseUri);
            key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read");
            var started = (await api.ImportAsync(key, customer, "big", ("amd64", reference))).Ok();
            importId = started.GetProperty("DM_import_node_service").GetProperty("import_id").GetString()!;

            // Wait until bytes are flowing, then kill with no warning.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var progress = (await api.GetImportAsync(key, importId)).Ok().GetProperty("DM_get_import").GetProperty("progress");
                long done = progress.GetProperty("bytes_done").GetInt64(), total = progress.GetProperty("bytes_total").GetInt64();
                Assert.True(total == 0 || done < total, "the import finished before it could be interrupted");
                if (done > 0)
                {
                    break;
                }
                Assert.True(DateTime.UtcNow < deadline, "no bytes were copied within a minute");
                await Task.Delay(50);
            }
        }
        finally
        {
            await first.KillAsync();
        }

        proxy.BytesPerSecond = 0;
        await using var second = await LocalHostProcess.StartAsync(_azurite, insecure, taskHub);
        using var api2 = new ApiClient(second.BaseUri);
        var import = await api2.WaitForImportAsync(key, importId, TimeSpan.FromMinutes(3));

        Assert.Equal("completed", import.GetProperty("status").GetString());
        Assert.Equal(1, import.GetProperty("container_version").GetInt32());
        var pushed = image.For("amd64");
        foreach (var layer in pushed.Layers)
        {
            var (size, hash) = await StoredBlobs.ReadAsync(_azurite.ConnectionString, layer.Digest);
            Assert.Equal(layer.Size, size);
            Assert.Equal(layer.Digest, hash);
        }

        // Exactly one version row for the service: the re-run activities did not add another.
        string nodeServiceId = import.GetProperty("node_service_id").GetString()!;
        var versions = new TableClient(_azurite.ConnectionString, SnapshotRecordStore.Table);
        int rows = 0;
        await foreach (var _ in versions.QueryAsync<TableEntity>(e => e.PartitionKey == nodeServiceId))
        {
            rows++;
        }
        Assert.Equal(1, rows);
    }
}
