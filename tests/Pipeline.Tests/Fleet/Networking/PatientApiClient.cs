using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Tests.Api;

namespace Pipeline.Tests.Fleet.Networking;

/// <summary>
/// A GraphQL client like <see cref="ApiClient"/> with a long timeout: with hundreds of calls in
/// flight on a busy test machine, each waits for all the others to share the storage emulator.
/// </summary>
public sealed class PatientApiClient(Uri baseUri) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(5) };

    public async Task<GraphQLAnswer> AddInstanceAsync(string key, string nodeServiceId, string deviceId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/graphql")
        {
            Content = JsonContent.Create(new JsonObject
            {
                ["query"] = "mutation($s: ID!, $d: ID!) { DM_add_node_service_instance(node_service_id: $s, device_id: $d) { " + FleetApi.InstanceFields + " } }",
                ["variables"] = new JsonObject { ["s"] = nodeServiceId, ["d"] = deviceId },
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await _http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        return new GraphQLAnswer(response.StatusCode, JsonDocument.Parse(body).RootElement.Clone());
    }

    public void Dispose() => _http.Dispose();
}
