using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;
using Pipeline.Webhooks;

namespace Pipeline.Tests.Webhooks;

/// <summary>
/// The webhook route through LocalHost with each provider's payload: a push of a referenced tag
/// re-imports once; everything without a valid proof is 401 and starts nothing (TEST-MATRIX row
/// 22); one push reported many times is one import (row 23); bad bodies are 400 (row 34).
/// </summary>
public sealed class WebhookApiTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>, IDisposable
{
    private readonly WebhookClient _hooks = new(pipeline.Host.BaseUri);

    private ApiClient Api => pipeline.Api;

    private string Registry => pipeline.Registry.Host;

    public void Dispose() => _hooks.Dispose();

    private sealed record Tenant(string Customer, string Key, string Repository, string NodeServiceId);

    /// <summary>A customer whose node service imports two architectures from <c>{repository}:edge</c>, at version 1.</summary>
    private async Task<Tenant> TenantWithServiceAsync()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read");
        string repository = RegistryFixture.NewRepository("hook");
        var image = await PushAsync(repository, "1");
        var import = await Api.ImportAndWaitAsync(key, customer, new JsonObject
        {
            ["name"] = "svc",
            ["image_sources"] = ApiClient.Sources([("amd64", image.Reference), ("arm64", image.Reference)]),
        });
        Assert.Equal(1, import.GetProperty("container_version").GetInt32());
        return new Tenant(customer, key, repository, import.Str("node_service_id"));
    }

    private Task<PushedImage> PushAsync(string repository, string content) =>
        TestImages.BuildAndPushAsync(Registry, repository, "edge", [ArchSpec.Amd64(LayerSpec.Text("v", content)), ArchSpec.Arm64(LayerSpec.Text("v", content))]);

    private async Task<string> CreateWebhookAsync(Tenant t, string provider, string? registry = null)
    {
        var answer = await Api.QueryAsync(t.Key, "mutation($c: ID!, $p: String!, $r: String) { DM_create_webhook(customer_id: $c, provider: $p, registry: $r) { provider registry url secret } }",
            new { c = t.Customer, p = provider, r = registry ?? Registry });
        return answer.Ok().GetProperty("DM_create_webhook").Str("secret");
    }

    private async Task<List<JsonElement>> DeliveriesAsync(Tenant t, string provider) =>
        (await Api.QueryAsync(t.Key, "query($c: ID!) { DM_get_webhooks(customer_id: $c) { provider deliveries { outcome message delivery_id imports { node_service_id import_id } } } }", new { c = t.Customer }))
            .Ok().GetProperty("DM_get_webhooks").EnumerateArray().Where(w => w.Str("provider") == provider)
            .SelectMany(w => w.GetProperty("deliveries").EnumerateArray()).ToList();

    private static List<string> ImportIds(JsonElement answer) =>
        answer.GetProperty("imports").EnumerateArray().Select(i => i.Str("import_id")).ToList();

    public static TheoryData<string> AllProviders => new(WebhookDeliveries.Providers);

    [Theory]
    [MemberData(nameof(AllProviders))]
    public async Task Push_ReferencedTag_OneImport_NewVersionWhenChangedNoneWhenNot(string provider)
    {
        var t = await TenantWithServiceAsync();
        string secret = await CreateWebhookAsync(t, provider);
        var v2 = await PushAsync(t.Repository, "2");

        var (status, answer) = await _hooks.SendAsync(t.Customer, WebhookDeliveries.Push(provider, Registry, t.Repository, "edge", v2.TopDigest.ToString()), secret);

        Assert.Equal(HttpStatusCode.Accepted, status);
        var started = answer.GetProperty("imports").EnumerateArray().Single();
        Assert.Equal(t.NodeServiceId, started.Str("node_service_id"));
        var import = await Api.WaitForImportAsync(t.Key, started.Str("import_id"), TimeSpan.FromMinutes(2));
        Assert.Equal(("completed", 2), (import.Str("status"), import.GetProperty("container_version").GetInt32()));

        // Reported again once that import has ended, with nothing new pushed: an import that keeps version 2.
        var (againStatus, again) = await _hooks.SendAsync(t.Customer, WebhookDeliveries.Push(provider, Registry, t.Repository, "edge", v2.TopDigest.ToString()), secret);
        Assert.Equal(HttpStatusCode.Accepted, againStatus);
        var unchanged = await Api.WaitForImportAsync(t.Key, ImportIds(again).Single(), TimeSpan.FromMinutes(2));
        Assert.Equal(("completed", 2), (unchanged.Str("status"), unchanged.GetProperty("container_version").GetInt32()));
        Assert.Equal(["imports_started", "imports_started"], (await DeliveriesAsync(t, provider)).Select(d => d.Str("outcome")));
    }

    [Fact]
    public async Task Push_UnreferencedRepositoryOrTag_200WithNoImports()
    {
        var t = await TenantWithServiceAsync();
        string secret = await CreateWebhookAsync(t, WebhookProviders.Acr);

        var otherRepo = await _hooks.SendAsync(t.Customer, WebhookDeliveries.Push(WebhookProviders.Acr, Registry, "someone/else", "edge", Digest('a')), secret);
        var otherTag = await _hooks.SendAsync(t.Customer, WebhookDeliveries.Push(WebhookProviders.Acr, Registry, t.Repository, "nightly", Digest('b')), secret);
        var otherHost = await _hooks.SendAsync(t.Customer, WebhookDeliveries.Push(WebhookProviders.Acr, "other.example:5000", t.Repository, "edge", Digest('c')), secret);

        foreach (var (status, body) in new[] { otherRepo, otherTag, otherHost })
        {
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Empty(body.GetProperty("imports").EnumerateArray());
        }
        Assert.All(await DeliveriesAsync(t, WebhookProviders.Acr), d => Assert.Equal("no_match", d.Str("outcome")));
    }

    [Fact]
    public async Task Proof_BadHmacMissingTokenWrongTokenOtherCustomersSecret_401AndNothingStarted()
    {
        var t = await TenantWithServiceAsync();
        var other = await TenantWithServiceAsync();
        string github = await CreateWebhookAsync(t, WebhookProviders.GitHub);
        string dockerhub = await CreateWebhookAsync(t, WebhookProviders.DockerHub);
        string harbor = await CreateWebhookAsync(t, WebhookProviders.Harbor);
        string othersSecret = await CreateWebhookAsync(other, WebhookProviders.Harbor);
        Delivery Push(string provider) => WebhookDeliveries.Push(provider, Registry, t.Repository, "edge", Digest('d'));

        var answers = new[]
        {
            await _hooks.SendAsync(t.Customer, Push(WebhookProviders.GitHub), github, Proof.Wrong),
            await _hooks.SendAsync(t.Customer, Push(WebhookProviders.GitHub), github, Proof.None),
            await _hooks.SendAsync(t.Customer, Push(WebhookProviders.DockerHub), dockerhub, Proof.None),
            await _hooks.SendAsync(t.Customer, Push(WebhookProviders.DockerHub), dockerhub, Proof.Wrong),
            await _hooks.SendAsync(t.Customer, Push(WebhookProviders.Harbor), harbor, Proof.None),
            await _hooks.SendAsync(t.Customer, Push(WebhookProviders.Harbor), othersSecret),           // another customer's secret
            await _hooks.SendAsync(t.Customer, Push(WebhookProviders.Acr), harbor),                     // no acr webhook at all
            await _hooks.SendAsync(t.Customer, Push(WebhookProviders.Harbor), dockerhub),               // the secret of another provider's webhook
        };

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Unauthorized, a.Status));
        foreach (string provider in WebhookDeliveries.Providers)
        {
            Assert.Empty(await DeliveriesAsync(t, provider));
        }
        var service = (await Api.QueryAsync(t.Key, "query($c: ID!) { DM_get_node_services(customer_id: $c) { services { container_version } } }", new { c = t.Customer }))
            .Ok().GetProperty("DM_get_node_services").GetProperty("services").EnumerateArray().Single();
        Assert.Equal(1, service.GetProperty("container_version").GetInt32());
    }

    [Fact]
    public async Task GitHub_OneDeliveryPerManifestAndTheSameDeliveryTwiceAtOnce_OneImport()
    {
        var t = await TenantWithServiceAsync();
        string secret = await CreateWebhookAsync(t, WebhookProviders.GitHub);
        var v2 = await PushAsync(t.Repository, "2");
        // GitHub reports a multi-arch push once per manifest: the index and each platform's manifest, all under the tag.
        string[] digests = [v2.TopDigest.ToString(), .. v2.Manifests.Select(m => m.ManifestDigest.ToString())];
        var perManifest = digests.Select(d => WebhookDeliveries.Push(WebhookProviders.GitHub, Registry, t.Repository, "edge", d)).ToList();
        var twice = WebhookDeliveries.Push(WebhookProviders.GitHub, Registry, t.Repository, "edge", digests[0]);

        var answers = await Task.WhenAll(perManifest.Append(twice).Append(twice).Select(d => _hooks.SendAsync(t.Customer, d, secret)));

        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.Accepted or HttpStatusCode.OK, $"{a.Status}: {a.Body}"));
        var ids = answers.SelectMany(a => ImportIds(a.Body)).Distinct().ToList();
        Assert.Single(ids);
        // The repeated delivery was taken once; its twin was recognised and ignored.
        var outcomes = (await DeliveriesAsync(t, WebhookProviders.GitHub)).Select(d => d.Str("outcome")).ToList();
        Assert.Equal(1, outcomes.Count(o => o == "replay_ignored"));
        Assert.Equal(4, outcomes.Count(o => o == "imports_started"));
        var import = await Api.WaitForImportAsync(t.Key, ids[0], TimeSpan.FromMinutes(2));
        Assert.Equal(2, import.GetProperty("container_version").GetInt32());
    }

    [Fact]
    public async Task Body_InvalidTooLargeUnknownProviderOrStale_400Or401_NothingStarted()
    {
        var t = await TenantWithServiceAsync();
        string acr = await CreateWebhookAsync(t, WebhookProviders.Acr);
        string github = await CreateWebhookAsync(t, WebhookProviders.GitHub);
        string huge = "{\"pad\": \"" + new string('x', 1024 * 1024) + "\"}";

        var invalid = await _hooks.SendAsync(t.Customer, new Delivery(WebhookProviders.Acr, "{\"action\": \"push\", ", new Dictionary<string, string>()), acr);
        var tooLarge = await _hooks.SendAsync(t.Customer, new Delivery(WebhookProviders.Acr, huge, new Dictionary<string, string>()), acr);
        var tooLargeForged = await _hooks.SendAsync(t.Customer, new Delivery(WebhookProviders.Acr, huge, new Dictionary<string, string>()), acr, Proof.Wrong);
        var signedTooLarge = await _hooks.SendAsync(t.Customer, new Delivery(WebhookProviders.GitHub, huge, new Dictionary<string, string> { ["X-GitHub-Event"] = "package" }), github);
        var forgedTooLarge = await _hooks.SendAsync(t.Customer, new Delivery(WebhookProviders.GitHub, huge, new Dictionary<string, string> { ["X-GitHub-Event"] = "package" }), github, Proof.Wrong);
        var unknown = await _hooks.SendAsync(t.Customer, WebhookDeliveries.Push(WebhookProviders.Acr, Registry, t.Repository, "edge", Digest('e')), acr, providerInPath: "quay");
        var stale = await _hooks.SendAsync(t.Customer, WebhookDeliveries.Push(WebhookProviders.Acr, Registry, t.Repository, "edge", Digest('f'), at: DateTimeOffset.UtcNow.AddDays(-2)), acr);

        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Equal("BAD_INPUT", invalid.Body.GetProperty("error").Str("code"));
        Assert.Equal(HttpStatusCode.BadRequest, tooLarge.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, tooLargeForged.Status);
        Assert.Equal(HttpStatusCode.BadRequest, signedTooLarge.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, forgedTooLarge.Status);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.Status);
        Assert.Equal(["stale_refused"], (await DeliveriesAsync(t, WebhookProviders.Acr)).Select(d => d.Str("outcome")));
    }

    [Fact]
    public async Task CreateWebhook_Again_RotatesTheSecret_DockerHubUrlCarriesIt()
    {
        var t = await TenantWithServiceAsync();
        var first = (await Api.QueryAsync(t.Key, "mutation($c: ID!) { DM_create_webhook(customer_id: $c, provider: \"dockerhub\") { provider registry url secret } }", new { c = t.Customer }))
            .Ok().GetProperty("DM_create_webhook");
        string second = await CreateWebhookAsync(t, WebhookProviders.DockerHub);
        var listed = (await Api.QueryAsync(t.Key, "query($c: ID!) { DM_get_webhooks(customer_id: $c) { provider registry url secret } }", new { c = t.Customer }))
            .Ok().GetProperty("DM_get_webhooks").EnumerateArray().Single();
        var push = WebhookDeliveries.Push(WebhookProviders.DockerHub, Registry, "nobody/nothing", "edge", Digest('0'));

        Assert.Equal("docker.io", first.Str("registry"));
        Assert.Equal($"/api/webhooks/dockerhub/{t.Customer}?token={Uri.EscapeDataString(first.Str("secret"))}", new Uri(first.Str("url")).PathAndQuery);
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("secret").ValueKind);
        Assert.DoesNotContain("token", listed.Str("url"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _hooks.SendAsync(t.Customer, push, first.Str("secret"))).Status);
        Assert.Equal(HttpStatusCode.OK, (await _hooks.SendAsync(t.Customer, push, second)).Status);
        var refused = await Api.QueryAsync(t.Key, "mutation($c: ID!) { DM_create_webhook(customer_id: $c, provider: \"quay\") { url } }", new { c = t.Customer });
        Assert.Equal(["BAD_INPUT"], refused.ErrorCodes);
    }

    private static string Digest(char c) => "sha256:" + new string(c, 64);
}
