using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Imports;

/// <summary>
/// TEST-MATRIX row 20: a canary registry password, right and wrong, goes through imports from a
/// Basic-auth registry and is then searched for everywhere the system writes: every table, queue
/// and blob of the storage account (task hub history included), the host's log, every response.
/// </summary>
public sealed class ImportSecretsTests : IAsyncLifetime
{
    private AzuriteFixture _azurite = null!;
    private RegistryFixture _registry = null!;
    private LocalHostProcess _host = null!;
    private readonly string _canary = "canary-pw-" + Guid.NewGuid().ToString("N");

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.GetSharedAsync();
        _registry = await RegistryFixture.StartAsync(new RegistryAuth("puller", _canary));
        _host = await LocalHostProcess.StartAsync(_azurite, _registry.Host);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task Import_WithCanaryPassword_PasswordAppearsNowhere()
    {
        var image = await TestImages.BuildAndPushAsync(_registry.Host, RegistryFixture.NewRepository("secret"), "1",
            [ArchSpec.Amd64(LayerSpec.Text("app/x", "x")), ArchSpec.Arm64(LayerSpec.Text("app/y", "y"))], credentials: _registry.Auth);
        string customer = PipelineFixture.NewCustomer();
        using var api = new ApiClient(_host.BaseUri);
        string key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read");
        var responses = new StringBuilder();

        var sources = new[] { ("amd64", image.Reference), ("arm64", image.Reference) };
        var good = await ImportAsync(api, key, customer, "good", ApiClient.Sources(sources, "puller", _canary), responses);
        Assert.Equal("completed", good.GetProperty("status").GetString());
        Assert.Equal(2, good.GetProperty("architectures").GetArrayLength());

        // A wrong password (itself a canary) fails cleanly, naming neither password.
        string wrong = _canary + "-wrong";
        var bad = await ImportAsync(api, key, customer, "bad", ApiClient.Sources(sources, "puller", wrong), responses);
        Assert.Equal("failed", bad.GetProperty("status").GetString());
        Assert.Equal("REGISTRY_AUTH_FAILED", bad.GetProperty("error").GetProperty("code").GetString());

        var found = new List<string>();
        void Check(string where, string text)
        {
            if (text.Contains(_canary, StringComparison.Ordinal))
            {
                found.Add(where);
            }
        }
        Check("responses", responses.ToString());
        Check("LocalHost log", _host.ReadLog());
        await foreach (var (where, text) in StorageTextsAsync())
        {
            Check(where, text);
        }
        Assert.Empty(found);
    }

    private static async Task<System.Text.Json.JsonElement> ImportAsync(ApiClient api, string key, string customer, string name, JsonArray sources, StringBuilder responses)
    {
        var started = await api.ImportAsync(key, customer, new JsonObject { ["name"] = name, ["image_sources"] = sources });
        responses.AppendLine(started.Root.ToString());
        string importId = started.Ok().GetProperty("DM_import_node_service").GetProperty("import_id").GetString()!;
        var done = await api.WaitForImportAsync(key, importId, TimeSpan.FromMinutes(2), async running =>
        {
            responses.AppendLine(running.ToString());
            await Task.CompletedTask;
        });
        responses.AppendLine(done.ToString());
        return done;
    }

    /// <summary>Every table entity, queue message and blob of the account, as text.</summary>
    private async IAsyncEnumerable<(string Where, string Text)> StorageTextsAsync()
    {
        var tables = new TableServiceClient(_azurite.ConnectionString);
        await foreach (var t in tables.QueryAsync())
        {
            var sb = new StringBuilder();
            await foreach (var e in tables.GetTableClient(t.Name).QueryAsync<TableEntity>())
            {
                foreach (var (k, v) in e)
                {
                    sb.Append(k).Append('=').Append(v is byte[] b ? Encoding.UTF8.GetString(b) : v?.ToString()).Append('\n');
                }
            }
            yield return ("table " + t.Name, sb.ToString());
        }
        var queues = new QueueServiceClient(_azurite.ConnectionString);
        await foreach (var q in queues.GetQueuesAsync())
        {
            var messages = await queues.GetQueueClient(q.Name).PeekMessagesAsync(32);
            yield return ("queue " + q.Name, string.Join('\n', messages.Value.Select(m => m.Body.ToString())));
        }
        var blobs = new BlobServiceClient(_azurite.ConnectionString);
        await foreach (var c in blobs.GetBlobContainersAsync())
        {
            var container = blobs.GetBlobContainerClient(c.Name);
            await foreach (var b in container.GetBlobsAsync())
            {
                // Layers are the test images' own random bytes; everything the pipeline writes
                // itself (history, records, env files, configs) is small.
                if (b.Properties.ContentLength > 4 * 1024 * 1024)
                {
                    continue;
                }
                var bytes = (await container.GetBlobClient(b.Name).DownloadContentAsync()).Value.Content.ToArray();
                yield return ($"blob {c.Name}/{b.Name}", Encoding.UTF8.GetString(bytes));
                // The durable backend gzips large messages and history into blobs.
                if (bytes is [0x1f, 0x8b, ..])
                {
                    using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(bytes), System.IO.Compression.CompressionMode.Decompress);
                    using var plain = new MemoryStream();
                    await gzip.CopyToAsync(plain);
                    yield return ($"blob {c.Name}/{b.Name} (gunzipped)", Encoding.UTF8.GetString(plain.ToArray()));
                }
            }
        }
    }
}
