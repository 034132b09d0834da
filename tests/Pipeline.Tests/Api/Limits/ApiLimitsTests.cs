using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pipeline.Tests.Api.Devices;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.Api.Limits;

/// <summary>
/// The API under abuse, through a LocalHost of this class's own with small rate limits, on an
/// Azurite that logs every request: floods are refused before they reach storage, a key or a
/// device over its rate gets 429 while its neighbours are served.
/// </summary>
public sealed class ApiLimitsTests : IAsyncLifetime
{
    private AzuriteFixture _azurite = null!;
    private LocalHostProcess _host = null!;
    private ApiClient _api = null!;
    private string _requestLog = null!;

    public async Task InitializeAsync()
    {
        _requestLog = Path.Combine(Path.GetTempPath(), $"azurite-requests-{Guid.NewGuid():N}.log");
        _azurite = await AzuriteFixture.StartAsync(["--debug", _requestLog]);
        _host = await LocalHostProcess.StartAsync(_azurite, insecureHosts: "", extraEnvironment: new Dictionary<string, string?>
        {
            ["Pipeline__Limits__KeyRequestsPerSecond"] = "1",
            ["Pipeline__Limits__KeyBurst"] = "8",
            ["Pipeline__Limits__DeviceRequestsPerSecond"] = "1",
            ["Pipeline__Limits__DeviceBurst"] = "3",
        });
        _api = new ApiClient(_host.BaseUri);
    }

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        await _host.DisposeAsync();
        await _azurite.DisposeAsync();
        File.Delete(_requestLog);
    }

    /// <summary>Table requests Azurite has logged so far (the durable backend's idle polling uses queues and blobs).</summary>
    private int TableRequests()
    {
        using var stream = new FileStream(_requestLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        int n = 0;
        while (reader.ReadLine() is { } line)
        {
            n += line.Contains("TableStorageContextMiddleware: RequestMethod=", StringComparison.Ordinal) ? 1 : 0;
        }
        return n;
    }

    [Fact]
    public async Task Flood_AliasesOrDepth_TooLargeBeforeAnyStorageCall()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await _api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read");
        (await _api.QueryAsync(key, "query($c: ID!) { DM_get_node_services(customer_id: $c) { total } }", new { c = customer })).Ok();
        await Task.Delay(500);
        int before = TableRequests();

        var aliases = new StringBuilder("query { ");
        for (int i = 0; i < 100; i++)
        {
            aliases.Append($"a{i}: DM_get_node_services(customer_id: \"{customer}\") {{ total }} ");
        }
        var aliasFlood = await _api.QueryAsync(key, aliases.Append('}').ToString());
        var innerAliases = await _api.QueryAsync(key,
            $"query {{ DM_get_node_services(customer_id: \"{customer}\") {{ {string.Join(' ', Enumerable.Range(0, 500).Select(i => $"t{i}: total"))} }} }}");
        string nested = "name";
        for (int i = 0; i < 12; i++)
        {
            nested = "ofType { " + nested + " }";
        }
        var depthFlood = await _api.QueryAsync(key, "{ __schema { types { fields { type { " + nested + " } } } } }");
        await Task.Delay(500);

        Assert.Equal(["TOO_LARGE"], aliasFlood.ErrorCodes.Distinct());
        Assert.Contains("Pipeline:Limits:MaxRootFields", aliasFlood.ErrorMessages, StringComparison.Ordinal);
        Assert.True(innerAliases.ErrorCodes.Distinct().SequenceEqual(["TOO_LARGE"]), innerAliases.ErrorMessages);
        Assert.Contains("Pipeline:Limits:MaxAliases", innerAliases.ErrorMessages, StringComparison.Ordinal);
        Assert.True(depthFlood.ErrorCodes.Distinct().SequenceEqual(["TOO_LARGE"]), depthFlood.ErrorMessages);
        // A flood too big to parse is refused by its size.
        var huge = new StringBuilder("query { ");
        for (int i = 0; i < 5000; i++)
        {
            huge.Append($"a{i}: DM_get_node_services(customer_id: \"{customer}\") {{ total }} ");
        }
        var sized = await _api.QueryAsync(key, huge.Append('}').ToString());
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "TOO_LARGE"), (sized.Status, sized.ErrorCodes.Single()));
        await Task.Delay(500);
        Assert.Equal(before, TableRequests());
    }

    [Fact]
    public async Task Key_OverItsRate_429WithRetryAfter_OtherKeysServed()
    {
        string customer = PipelineFixture.NewCustomer();
        string other = PipelineFixture.NewCustomer();
        string looping = await _api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read");
        string sameCustomer = await _api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "read");
        string otherCustomer = await _api.CreateKeyAsync(LocalHostProcess.AdminKey, other, "read");
        const string query = "query($c: ID!) { DM_get_node_services(customer_id: $c) { total } }";

        using var http = new HttpClient { BaseAddress = _host.BaseUri };
        HttpResponseMessage? refused = null;
        for (int i = 0; i < 30 && refused is null; i++)
        {
            var response = await PostAsync(http, looping, query, customer);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        using var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("RATE_LIMITED", body.RootElement.GetProperty("errors")[0].GetProperty("extensions").GetProperty("code").GetString());
        (await _api.QueryAsync(sameCustomer, query, new { c = customer })).Ok();
        (await _api.QueryAsync(otherCustomer, query, new { c = other })).Ok();
    }

    [Fact]
    public async Task Device_LoopingOnItsPlan_429_OtherDevicesServed()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await _api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "deploy");
        var seed = new FleetSeed(_azurite.ConnectionString);
        var service = await seed.AddServiceAsync(customer, "svc");
        string loopKey = await _api.RegisterDeviceOkAsync(key, customer, customer + "-loop");
        string calmKey = await _api.RegisterDeviceOkAsync(key, customer, customer + "-calm");
        string loopInstance = (await _api.AddInstanceOkAsync(key, service.NodeServiceId, customer + "-loop")).Str("node_service_instance_id");
        string calmInstance = (await _api.AddInstanceOkAsync(key, service.NodeServiceId, customer + "-calm")).Str("node_service_instance_id");
        using var devices = new DeviceClient(_host.BaseUri);

        DeviceAnswer? refused = null;
        for (int i = 0; i < 20 && refused is null; i++)
        {
            var answer = await devices.PlanAsync(loopKey, customer + "-loop", loopInstance);
            refused = answer.Status == HttpStatusCode.TooManyRequests ? answer : null;
        }

        Assert.NotNull(refused);
        Assert.Equal("RATE_LIMITED", refused.ErrorCode);
        (await devices.PlanAsync(calmKey, customer + "-calm", calmInstance)).Expect(HttpStatusCode.OK);
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string key, string query, string customer)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/graphql")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { query, variables = new { c = customer } }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http.SendAsync(request);
    }
}
