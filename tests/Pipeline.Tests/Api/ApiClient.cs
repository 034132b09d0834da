using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Tests.Api;

/// <summary>A GraphQL answer: the status, the data, and the errors' codes.</summary>
public sealed record GraphQLAnswer(HttpStatusCode Status, JsonElement Root)
{
    public JsonElement Data => Root.GetProperty("data");

    public IReadOnlyList<string> ErrorCodes => Root.TryGetProperty("errors", out var e)
        ? e.EnumerateArray().Select(x => x.GetProperty("extensions").GetProperty("code").GetString()!).ToList()
        : [];

    public string ErrorMessages => Root.TryGetProperty("errors", out var e)
        ? string.Join("; ", e.EnumerateArray().Select(x => x.GetProperty("message").GetString()))
        : "";

    /// <summary>The data, asserting there were no errors.</summary>
    public JsonElement Ok()
    {
        Assert.True(Status == HttpStatusCode.OK && ErrorCodes.Count == 0, $"{Status}: {Root}");
        return Data;
    }
}

/// <summary>Calls <c>POST /api/graphql</c> exactly as an outside client would.</summary>
public sealed class ApiClient(Uri baseUri) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };

    public async Task<GraphQLAnswer> QueryAsync(string? key, string query, object? variables = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/graphql")
        {
            Content = JsonContent.Create(new { query, variables }),
        };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        using var response = await _http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        return new GraphQLAnswer(response.StatusCode, JsonDocument.Parse(body).RootElement.Clone());
    }

    public async Task<string> CreateKeyAsync(string adminKey, string customerId, params string[] roles)
    {
        var answer = await QueryAsync(adminKey,
            "mutation($c: ID!, $r: [String!]!) { DM_create_api_key(customer_id: $c, roles: $r) { key customer_id roles } }",
            new { c = customerId, r = roles });
        return answer.Ok().GetProperty("DM_create_api_key").GetProperty("key").GetString()!;
    }

    public const string ImportFields =
        "import_id node_service_id status container_version warnings " +
        "progress { layers_total layers_done bytes_total bytes_done bytes_fetched layers { digest size bytes_done } } " +
        "architectures { arch manifest_digest config_digest layers { digest size media_type } } error { code message }";

    /// <summary>Starts an import of one image per arch; returns the answer (data or errors).</summary>
    public Task<GraphQLAnswer> ImportAsync(string key, string customerId, string name, params (string Arch, string Reference)[] sources) =>
        ImportAsync(key, customerId, new JsonObject
        {
            ["name"] = name,
            ["image_sources"] = Sources(sources),
        });

    /// <summary>Starts an import with a whole <c>NodeServiceInput</c>.</summary>
    public Task<GraphQLAnswer> ImportAsync(string key, string customerId, JsonObject nodeServiceInput) =>
        QueryAsync(key,
            "mutation($c: ID!, $in: NodeServiceInput!) { DM_import_node_service(customer_id: $c, node_service_input: $in) { " + ImportFields + " } }",
            new JsonObject { ["c"] = customerId, ["in"] = nodeServiceInput });

    /// <summary>An <c>image_sources</c> list; each source may carry <c>authn</c>.</summary>
    public static JsonArray Sources(IEnumerable<(string Arch, string Reference)> sources, string? user = null, string? password = null) =>
        new(sources.Select(s =>
        {
            var source = new JsonObject { ["arch"] = s.Arch, ["image_reference"] = s.Reference };
            if (user is not null)
            {
                source["authn"] = new JsonObject { ["registry_user"] = user, ["registry_pw"] = password };
            }
            return (JsonNode)source;
        }).ToArray());

    /// <summary>Starts an import and waits for it to end; returns the final <c>Import</c>.</summary>
    public async Task<JsonElement> ImportAndWaitAsync(string key, string customerId, JsonObject nodeServiceInput, TimeSpan? timeout = null)
    {
        var started = (await ImportAsync(key, customerId, nodeServiceInput)).Ok().GetProperty("DM_import_node_service");
        return await WaitForImportAsync(key, started.GetProperty("import_id").GetString()!, timeout ?? TimeSpan.FromMinutes(2));
    }

    public Task<GraphQLAnswer> GetImportAsync(string key, string importId) =>
        QueryAsync(key, "query($id: ID!) { DM_get_import(import_id: $id) { " + ImportFields + " } }", new { id = importId });

    /// <summary>Polls <c>DM_get_import</c> until the import is completed or failed.</summary>
    public async Task<JsonElement> WaitForImportAsync(string key, string importId, TimeSpan timeout, Func<JsonElement, Task>? onProgress = null, TimeSpan? pollInterval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var import = (await GetImportAsync(key, importId)).Ok().GetProperty("DM_get_import");
            string status = import.GetProperty("status").GetString()!;
            if (status is "completed" or "failed")
            {
                return import;
            }
            if (onProgress is not null)
            {
                await onProgress(import);
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Import {importId} still {status} after {timeout}: {import}");
            }
            await Task.Delay(pollInterval ?? TimeSpan.FromMilliseconds(250));
        }
    }

    public void Dispose() => _http.Dispose();
}
