using System.Net;
using Azure.Data.Tables;
using Pipeline.Api.Auth;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Api;

/// <summary>Keys, roles and tenants, through LocalHost's HTTP API as a client sees them.</summary>
public sealed class ApiAuthTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    private ApiClient Api => pipeline.Api;

    private const string ListServices = "query($c: ID!) { DM_get_node_services(customer_id: $c) { total services { name } } }";

    [Fact]
    public async Task GraphQL_NoKey_Returns401()
    {
        var answer = await Api.QueryAsync(null, ListServices, new { c = "anyone" });
        Assert.Equal(HttpStatusCode.Unauthorized, answer.Status);
    }

    [Fact]
    public async Task GraphQL_UnknownKey_Returns401()
    {
        var answer = await Api.QueryAsync("pk_not-a-real-key", ListServices, new { c = "anyone" });
        Assert.Equal(HttpStatusCode.Unauthorized, answer.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Api.QueryAsync(LocalHostProcess.AdminKey + "x", ListServices, new { c = "anyone" })).Status);
    }

    [Fact]
    public async Task GraphQL_OtherCustomersKey_IsForbidden()
    {
        string a = PipelineFixture.NewCustomer(), b = PipelineFixture.NewCustomer();
        string keyA = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, a, "import", "read");
        string keyB = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, b, "import", "read");

        var list = await Api.QueryAsync(keyA, ListServices, new { c = b });
        Assert.Equal(HttpStatusCode.OK, list.Status);
        Assert.Equal(["FORBIDDEN"], list.ErrorCodes);

        var import = await Api.ImportAsync(keyA, b, "svc", ("amd64", pipeline.Registry.Host + "/none/x:1"));
        Assert.Equal(["FORBIDDEN"], import.ErrorCodes);

        // B's own import is invisible to A's key.
        var started = (await Api.ImportAsync(keyB, b, "svc", ("amd64", pipeline.Registry.Host + "/none/x:1"))).Ok();
        string importId = started.GetProperty("DM_import_node_service").GetProperty("import_id").GetString()!;
        Assert.Equal(["FORBIDDEN"], (await Api.GetImportAsync(keyA, importId)).ErrorCodes);
        Assert.Empty((await Api.GetImportAsync(keyB, importId)).ErrorCodes);
    }

    [Fact]
    public async Task GraphQL_KeyWithoutRole_IsForbidden()
    {
        string c = PipelineFixture.NewCustomer();
        string readOnly = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "read");

        var import = await Api.ImportAsync(readOnly, c, "svc", ("amd64", pipeline.Registry.Host + "/none/x:1"));
        Assert.Equal(["FORBIDDEN"], import.ErrorCodes);

        var createKey = await Api.QueryAsync(readOnly, "mutation { DM_create_api_key(customer_id: \"x\", roles: [\"read\"]) { key } }");
        Assert.Equal(["FORBIDDEN"], createKey.ErrorCodes);
    }

    [Fact]
    public async Task CreateApiKey_AdminRoleForATenant_IsBadInput()
    {
        var answer = await Api.QueryAsync(LocalHostProcess.AdminKey, "mutation { DM_create_api_key(customer_id: \"x\", roles: [\"admin\"]) { key } }");
        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
    }

    [Fact]
    public async Task CreateApiKey_TableHoldsOnlyTheKeysHash()
    {
        string c = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "read");

        var table = new TableClient(pipeline.Azurite.ConnectionString, ApiKeyStore.Table);
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            rows.Add(row);
        }
        var mine = Assert.Single(rows, r => r.GetString("customer_id") == c);
        Assert.Equal(ApiKeyStore.Hash(key), mine.RowKey);
        string secretPart = key["pk_".Length..];
        Assert.DoesNotContain(rows, r => r.Select(kv => kv.Key + "=" + kv.Value).Append(r.RowKey).Any(s => s.Contains(secretPart, StringComparison.Ordinal)));

        // And the key works.
        Assert.Empty((await Api.QueryAsync(key, ListServices, new { c })).ErrorCodes);
    }

    [Theory]
    [InlineData("sparc", "ref", "image_sources[0].arch")]
    [InlineData("amd64", "Not A Reference", "image_sources[0].image_reference")]
    [InlineData("amd64", "reg.example/x@sha256:ABC", "image_sources[0].image_reference")]
    public async Task ImportNodeService_BadSource_IsBadInputNamingTheField(string arch, string reference, string field)
    {
        string c = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "import");
        var answer = await Api.ImportAsync(key, c, "svc", (arch, reference));
        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
        Assert.Contains(field, answer.ErrorMessages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImportNodeService_SameArchTwice_IsBadInput()
    {
        string c = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, c, "import");
        var answer = await Api.ImportAsync(key, c, "svc", ("amd64", "a/b:1"), ("amd64", "a/c:1"));
        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
        Assert.Contains("image_sources[1].arch", answer.ErrorMessages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GraphQL_UnknownField_IsBadInput()
    {
        var answer = await Api.QueryAsync(LocalHostProcess.AdminKey, "{ DM_no_such_field }");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(["BAD_INPUT"], answer.ErrorCodes);
    }
}
