using System.Text.Json.Nodes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Imports;

/// <summary>
/// Imports of one customer beyond <c>Pipeline:Limits:ImportsPerCustomer</c> wait their turn
/// (<c>pending</c>) and then run; none is refused. With the limit at 1, a small import started
/// while a large one runs stays pending until the large one has ended.
/// </summary>
public sealed class ImportConcurrencyTests : IAsyncLifetime
{
    private AzuriteFixture _azurite = null!;
    private RegistryFixture _registry = null!;
    private LocalHostProcess _host = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.GetSharedAsync();
        _registry = await RegistryFixture.StartAsync();
        _host = await LocalHostProcess.StartAsync(_azurite, _registry.Host,
            extraEnvironment: new Dictionary<string, string?> { ["Pipeline__Limits__ImportsPerCustomer"] = "1" });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task Imports_OverTheCustomersLimit_WaitPendingThenComplete()
    {
        using var api = new ApiClient(_host.BaseUri);
        string customer = PipelineFixture.NewCustomer();
        string key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read");
        var large = await TestImages.BuildAndPushAsync(_registry.Host, RegistryFixture.NewRepository("large"), "1", [ArchSpec.Amd64(LayerSpec.RandomData(120_000_000))]);
        var small = await TestImages.BuildAndPushAsync(_registry.Host, RegistryFixture.NewRepository("small"), "1", [ArchSpec.Amd64(LayerSpec.Text("a", "b"))]);
        JsonObject Input(string name, PushedImage image) => new() { ["name"] = name, ["image_sources"] = ApiClient.Sources([("amd64", image.Reference)]) };

        string first = (await api.ImportAsync(key, customer, Input("large", large))).Ok().GetProperty("DM_import_node_service").GetProperty("import_id").GetString()!;
        // The large import holds the customer's only slot once it is copying.
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while ((await api.GetImportAsync(key, first)).Ok().GetProperty("DM_get_import").GetProperty("status").GetString() != "running")
        {
            Assert.True(DateTime.UtcNow < deadline, "the large import did not start");
            await Task.Delay(50);
        }
        string second = (await api.ImportAsync(key, customer, Input("small", small))).Ok().GetProperty("DM_import_node_service").GetProperty("import_id").GetString()!;

        var seenWhileFirstRan = new List<string>();
        while (true)
        {
            string firstStatus = (await api.GetImportAsync(key, first)).Ok().GetProperty("DM_get_import").GetProperty("status").GetString()!;
            string secondStatus = (await api.GetImportAsync(key, second)).Ok().GetProperty("DM_get_import").GetProperty("status").GetString()!;
            if (firstStatus is "completed" or "failed")
            {
                Assert.Equal("completed", firstStatus);
                break;
            }
            seenWhileFirstRan.Add(secondStatus);
            await Task.Delay(100);
        }

        Assert.NotEmpty(seenWhileFirstRan);
        Assert.All(seenWhileFirstRan, s => Assert.Equal("pending", s));
        var done = await api.WaitForImportAsync(key, second, TimeSpan.FromMinutes(2));
        Assert.Equal("completed", done.GetProperty("status").GetString());
    }
}
