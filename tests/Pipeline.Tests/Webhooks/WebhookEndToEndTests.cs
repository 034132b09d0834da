using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Webhooks;

/// <summary>
/// The CNCF registry configured to send its notifications to LocalHost's webhook route: pushing a
/// new image to the tag a node service imports from starts the re-import by itself, and the
/// webhook's log says so.
/// </summary>
public sealed class WebhookEndToEndTests : IAsyncLifetime
{
    private AzuriteFixture _azurite = null!;
    private LocalHostProcess _host = null!;
    private RegistryFixture? _registry;
    private int _registryPort;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.GetSharedAsync();
        // The registry's host must be allowed before the registry exists: its URL comes from LocalHost.
        _registryPort = FreePort.Next();
        _host = await LocalHostProcess.StartAsync(_azurite, $"127.0.0.1:{_registryPort}");
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Push_RegistryNotifiesLocalHost_ReimportAddsAVersion()
    {
        using var api = new ApiClient(_host.BaseUri);
        string customer = PipelineFixture.NewCustomer();
        string key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read");
        var webhook = (await api.QueryAsync(key, "mutation($c: ID!) { DM_create_webhook(customer_id: $c, provider: \"distribution\") { url secret registry } }",
            new { c = customer })).Ok().GetProperty("DM_create_webhook");
        string url = webhook.GetProperty("url").GetString()!;
        Assert.Equal(new Uri(_host.BaseUri, $"/api/webhooks/distribution/{customer}"), new Uri(url));
        _registry = await RegistryFixture.StartWithNotificationsAsync(_registryPort, url, webhook.GetProperty("secret").GetString()!);

        string repository = RegistryFixture.NewRepository("hook");
        var v1 = await TestImages.BuildAndPushAsync(_registry.Host, repository, "stable",
            [ArchSpec.Amd64(LayerSpec.Text("app/version", "1")), ArchSpec.Arm64(LayerSpec.Text("app/version", "1"))]);
        var import = await api.ImportAndWaitAsync(key, customer, new JsonObject
        {
            ["name"] = "hooked",
            ["image_sources"] = ApiClient.Sources([("amd64", v1.Reference), ("arm64", v1.Reference)]),
        });
        Assert.Equal(1, import.GetProperty("container_version").GetInt32());

        // A new image under the same tag: nobody calls the API, the registry's notification does.
        var v2 = await TestImages.BuildAndPushAsync(_registry.Host, repository, "stable",
            [ArchSpec.Amd64(LayerSpec.Text("app/version", "2")), ArchSpec.Arm64(LayerSpec.Text("app/version", "2"))]);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        JsonElement service;
        while (true)
        {
            service = (await api.QueryAsync(key, "query($c: ID!) { DM_get_node_services(customer_id: $c) { services { name container_version } } }", new { c = customer }))
                .Ok().GetProperty("DM_get_node_services").GetProperty("services").EnumerateArray().Single();
            if (service.GetProperty("container_version").GetInt32() == 2)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "no re-import within two minutes of the push; LocalHost's log:\n" + _host.ReadLog());
            await Task.Delay(250);
        }

        var deliveries = (await api.QueryAsync(key, "query($c: ID!) { DM_get_webhooks(customer_id: $c) { provider deliveries(take: 50) { outcome message imports { node_service_id import_id } } } }", new { c = customer }))
            .Ok().GetProperty("DM_get_webhooks").EnumerateArray().Single().GetProperty("deliveries").EnumerateArray().ToList();
        var started = deliveries.Where(d => d.GetProperty("outcome").GetString() == "imports_started").ToList();
        Assert.NotEmpty(started);
        // However many notifications the push made (one per manifest, blobs, the tag), they share one import.
        Assert.Single(started.SelectMany(d => d.GetProperty("imports").EnumerateArray()).Select(i => i.GetProperty("import_id").GetString()).Distinct());
        Assert.Contains(started, d => d.GetProperty("message").GetString()!.Contains($"{repository}:stable", StringComparison.Ordinal));
        Assert.NotEqual(v1.TopDigest, v2.TopDigest);
    }
}
