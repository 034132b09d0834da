using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Pipeline.Snapshots;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Imports;

/// <summary>
/// The whole <c>NodeServiceInput</c>: settings make versions, <c>env</c> becomes a shell-safe
/// <c>lxc.env</c>, networking is fixed by the first import, and bad input is refused naming the
/// field (TEST-MATRIX row 30).
/// </summary>
public sealed class ImportSettingsTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    private ApiClient Api => pipeline.Api;

    private async Task<(string Customer, string Key, string Reference)> SetUpAsync()
    {
        string c = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "import", "read");
        var image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("settings"), "1", [ArchSpec.Amd64(LayerSpec.Text("app/a", "a"))]);
        return (c, key, image.Reference);
    }

    private static JsonObject Input(string reference, Action<JsonObject>? more = null)
    {
        var input = new JsonObject { ["name"] = "svc", ["image_sources"] = ApiClient.Sources([("amd64", reference)]) };
        more?.Invoke(input);
        return input;
    }

    private async Task<SnapshotRecord> RecordAsync(string nodeServiceId, int version)
    {
        var table = new TableClient(pipeline.Azurite.ConnectionString, SnapshotRecordStore.Table);
        var row = await table.GetEntityAsync<TableEntity>(nodeServiceId, SnapshotRecordStore.RowKey(version));
        return JsonSerializer.Deserialize<SnapshotRecord>(row.Value.GetString("record"))!;
    }

    [Fact]
    public async Task Import_SettingsChange_AddsAVersion_EnvFileIsShellSafe()
    {
        var (c, key, reference) = await SetUpAsync();
        string tricky = "it's \"quoted\" $HOME `cmd` \\ \n second line";
        JsonObject Env(string level) => Input(reference, i =>
        {
            i["env"] = new JsonObject { ["LOG_LEVEL"] = level, ["TRICKY"] = tricky, ["PORT"] = 8080 };
            i["memory_limit_mb"] = 256;
            i["cpu_limit"] = 0.5;
            i["device_access"] = new JsonArray("serial", "GPIO"); // any case; stored lower case
        });

        var v1 = await Api.ImportAndWaitAsync(key, c, Env("info"));
        var same = await Api.ImportAndWaitAsync(key, c, Env("info"));
        var v2 = await Api.ImportAndWaitAsync(key, c, Env("debug"));

        Assert.Equal(1, v1.GetProperty("container_version").GetInt32());
        Assert.Equal(1, same.GetProperty("container_version").GetInt32());
        Assert.Equal(2, v2.GetProperty("container_version").GetInt32());

        var record = await RecordAsync(v2.GetProperty("node_service_id").GetString()!, 2);
        Assert.Equal(256, record.Settings.MemoryLimitMb);
        Assert.Equal(0.5, record.Settings.CpuLimit);
        Assert.Equal(["serial", "gpio"], record.Settings.DeviceAccess);
        var blob = new BlobClient(pipeline.Azurite.ConnectionString, "snapshots", "sha256/" + record.EnvFile.Digest.Hex);
        string envFile = Encoding.UTF8.GetString((await blob.DownloadContentAsync()).Value.Content.ToArray());

        // What a shell makes of it is exactly the values given.
        string script = Path.GetTempFileName();
        await File.WriteAllTextAsync(script, envFile);
        try
        {
            var printed = await ProcessRunner.RunAsync("sh", "-c", $". '{script}' && printf '%s|%s|%s' \"$LOG_LEVEL\" \"$TRICKY\" \"$PORT\"");
            // The runner reads output line by line and ends it with a newline of its own.
            Assert.Equal($"debug|{tricky}|8080", printed.StdOut.TrimEnd('\n'));
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public async Task Import_NetworkChangedAfterFirstImport_KeepsTheFirstAndWarns()
    {
        var (c, key, reference) = await SetUpAsync();
        JsonObject Net(string subnet) => Input(reference, i =>
        {
            i["network_config"] = new JsonObject { ["lan_configure_network"] = "dhcp", ["wan_configure_network"] = "dhcp", ["masquerade"] = true };
            i["access_provided_subnet"] = subnet;
            i["dhcp_range_template"] = subnet.Split('/')[0] + "/24";
        });

        var first = await Api.ImportAndWaitAsync(key, c, Net("10.190.0.1/16"));
        var second = await Api.ImportAndWaitAsync(key, c, Net("10.50.0.1/16"));
        var withoutNetwork = await Api.ImportAndWaitAsync(key, c, Input(reference));

        Assert.Empty(first.GetProperty("warnings").EnumerateArray());
        Assert.Contains("network_config ignored: it is immutable after the first import", second.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()));
        Assert.Empty(withoutNetwork.GetProperty("warnings").EnumerateArray());
        var record = await RecordAsync(first.GetProperty("node_service_id").GetString()!, 1);
        Assert.Equal("10.190.0.1/16", record.Network.AccessProvidedSubnet);
        Assert.Equal("dhcp", record.Network.LanConfigureNetwork);
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { """{"name": ""}""", "node_service_input.name" },
        { """{"access_provided_subnet": "10.190.0.1/33"}""", "node_service_input.access_provided_subnet" },
        { """{"access_provided_subnet": "10.190.300.1/16"}""", "node_service_input.access_provided_subnet" },
        { """{"access_provided_subnet": "not-a-cidr"}""", "node_service_input.access_provided_subnet" },
        { """{"access_provided_subnet": "10.190.0.1/24", "dhcp_range_template": "10.190.0.1/16"}""", "node_service_input.dhcp_range_template" },
        { """{"access_provided_subnet": "10.190.0.1/16", "dhcp_range_template": "10.191.0.1/24"}""", "node_service_input.dhcp_range_template" },
        { """{"dhcp_range": "10.190.0.1/24"}""", "node_service_input.dhcp_range" },
        { """{"network_config": {"wan_configure_network": "dhcp", "masquerade": true}}""", "node_service_input.network_config.masquerade" },
        { """{"network_config": {"lan_configure_network": "bridge"}}""", "node_service_input.network_config.lan_configure_network" },
        { """{"network_config": {"lan_configure_network": "allocated"}}""", "node_service_input.access_provided_subnet" },
        { """{"env": {"1BAD": "x"}}""", "node_service_input.env.1BAD" },
        { """{"env": {"OK": {"nested": 1}}}""", "node_service_input.env.OK" },
        { """{"memory_limit_mb": 0}""", "node_service_input.memory_limit_mb" },
        { """{"cpu_limit": -1}""", "node_service_input.cpu_limit" },
        { """{"device_access": ["Serial Port"]}""", "node_service_input.device_access" },
        { """{"device_access": ["toaster"]}""", "node_service_input.device_access" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task ImportNodeService_BadSetting_IsBadInputNamingTheField(string patch, string field)
    {
        string c = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "import");
        var input = Input("registry.example/app:1");
        foreach (var (name, value) in JsonNode.Parse(patch)!.AsObject())
        {
            input[name] = value?.DeepClone();
        }

        var answer = await Api.ImportAsync(key, c, input);

        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
        Assert.Contains(field + ":", answer.ErrorMessages, StringComparison.Ordinal);
    }
}
