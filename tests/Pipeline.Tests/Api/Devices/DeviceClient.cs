using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Tests.Api.Devices;

/// <summary>An answer of a device route: status, ETag, and the JSON body if there was one.</summary>
public sealed record DeviceAnswer(HttpStatusCode Status, string? ETag, JsonElement? Body)
{
    /// <summary>The body, asserting the status.</summary>
    public JsonElement Expect(HttpStatusCode status)
    {
        Assert.True(Status == status, $"expected {(int)status}, got {(int)Status}: {Body}");
        return Body ?? default;
    }

    /// <summary>The error code of an error answer.</summary>
    public string? ErrorCode => Body is { } b && b.ValueKind == JsonValueKind.Object && b.TryGetProperty("error", out var e) ? e.GetProperty("code").GetString() : null;

    public string? ErrorMessage => Body is { } b && b.ValueKind == JsonValueKind.Object && b.TryGetProperty("error", out var e) ? e.GetProperty("message").GetString() : null;
}

/// <summary>Calls the device routes exactly as a device would: plain HTTP and JSON with its device key.</summary>
public sealed class DeviceClient(Uri baseUri) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };

    public Task<DeviceAnswer> PlanAsync(string? key, string deviceId, string instanceId, IEnumerable<string>? have = null) =>
        PostAsync(key, $"/api/devices/{deviceId}/instances/{instanceId}/plan",
            new JsonObject { ["have"] = new JsonArray((have ?? []).Select(h => (JsonNode)JsonValue.Create(h)!).ToArray()) }.ToJsonString());

    public Task<DeviceAnswer> StatusAsync(string? key, string deviceId, string instanceId, int version, string state, bool healthy, string? message = null) =>
        PostAsync(key, $"/api/devices/{deviceId}/instances/{instanceId}/status",
            new JsonObject { ["container_version"] = version, ["state"] = state, ["healthy"] = healthy, ["message"] = message }.ToJsonString());

    public async Task<DeviceAnswer> TargetAsync(string? key, string deviceId, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/devices/{deviceId}/target");
        Authorize(request, key);
        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }
        return await SendAsync(request);
    }

    /// <summary>A raw POST, for malformed bodies.</summary>
    public async Task<DeviceAnswer> PostAsync(string? key, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        Authorize(request, key);
        return await SendAsync(request);
    }

    private static void Authorize(HttpRequestMessage request, string? key)
    {
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    private async Task<DeviceAnswer> SendAsync(HttpRequestMessage request)
    {
        using var response = await _http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonElement? body = text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone();
        return new DeviceAnswer(response.StatusCode, response.Headers.ETag?.ToString(), body);
    }

    public void Dispose() => _http.Dispose();
}
