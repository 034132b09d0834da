using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// The device half of the contract (API.md "Devices") in process, on a free loopback port: target
/// with ETag, delta plans, status reports, and blob URLs served by <see cref="FakeBlobs"/>. It lets
/// the agent's own rules (store, resume, disk, reports) be tested in seconds and with faults the
/// real storage cannot make; the end-to-end tests run the same agent against LocalHost.
/// </summary>
public sealed class FakeDeviceApi : IAsyncDisposable
{
    public const string DeviceId = "gw-fake-1";
    public const string DeviceKey = "device-key-fake-0123456789";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, FakeVersion?> _targets = new();

    private FakeDeviceApi(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    public FakeBlobs Blobs { get; } = new();

    /// <summary>Media types of blobs by digest; a blob not listed is <c>application/octet-stream</c>.</summary>
    public ConcurrentDictionary<string, string> MediaTypes { get; } = new();

    /// <summary>The <c>chunks</c> object a layer's plan entry carries when the request accepts <c>chunks</c>.</summary>
    public ConcurrentDictionary<string, JsonObject> Chunks { get; } = new();

    /// <summary>The <c>accept</c> of every plan request, its values joined with commas (null when left out).</summary>
    public ConcurrentQueue<string?> Accepts { get; } = new();

    /// <summary>Every status report received: instance id and the JSON body.</summary>
    public ConcurrentQueue<(string Instance, JsonElement Body)> Reports { get; } = new();

    public static async Task<FakeDeviceApi> StartAsync()
    {
        int port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var api = new FakeDeviceApi(app, new Uri($"http://127.0.0.1:{port}"));
        app.MapGet("/api/devices/{device}/target", (HttpContext http, string device) => api.TargetAsync(http, device));
        app.MapPost("/api/devices/{device}/instances/{instance}/plan", (HttpContext http, string device, string instance) => api.PlanAsync(http, device, instance));
        app.MapPost("/api/devices/{device}/instances/{instance}/status", (HttpContext http, string device, string instance) => api.StatusAsync(http, device, instance));
        app.MapGet("/blobs/{hex}", (HttpContext http, string hex) => api.Blobs.ServeAsync(http, hex));
        await app.StartAsync();
        return api;
    }

    /// <summary>A version made of blobs added to <see cref="Blobs"/>: a small config, the given layers, an env file.</summary>
    public FakeVersion AddVersion(int version, params byte[][] layers) =>
        new(version,
            Blobs.Add(System.Text.Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"v\":{version}}}")),
            layers.Select(Blobs.Add).ToList(),
            Blobs.Add(System.Text.Encoding.UTF8.GetBytes($"APP_VERSION={version}\n")),
            layers.Select(l => (long)l.Length).ToList());

    /// <summary>Sets what <paramref name="instanceId"/> should run (null: disabled).</summary>
    public void SetTarget(string instanceId, FakeVersion? version) => _targets[instanceId] = version;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private bool Authorized(HttpContext http, string device)
    {
        if (http.Request.Headers.Authorization != "Bearer " + DeviceKey || device != DeviceId)
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return false;
        }
        return true;
    }

    private async Task TargetAsync(HttpContext http, string device)
    {
        if (!Authorized(http, device))
        {
            return;
        }
        var instances = new JsonArray(_targets.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => (JsonNode)new JsonObject
        {
            ["node_service_instance_id"] = t.Key,
            ["node_service_id"] = "svc-1",
            ["container_version"] = t.Value?.Version,
            ["plan_url"] = $"/api/devices/{DeviceId}/instances/{t.Key}/plan",
        }).ToArray());
        byte[] json = System.Text.Encoding.UTF8.GetBytes(new JsonObject { ["instances"] = instances }.ToJsonString());
        string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(json))[..16] + "\"";
        http.Response.Headers.ETag = etag;
        if (http.Request.Headers.IfNoneMatch == etag)
        {
            http.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(json);
    }

    private async Task PlanAsync(HttpContext http, string device, string instance)
    {
        if (!Authorized(http, device) || !_targets.TryGetValue(instance, out var version))
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        using var body = await JsonDocument.ParseAsync(http.Request.Body);
        var have = body.RootElement.GetProperty("have").EnumerateArray().Select(h => h.GetString()!).ToHashSet(StringComparer.Ordinal);
        var accept = body.RootElement.TryGetProperty("accept", out var a) ? a : (JsonElement?)null;
        Accepts.Enqueue(accept is { ValueKind: JsonValueKind.Array } values ? string.Join(",", values.EnumerateArray().Select(v => v.ToString())) : accept?.GetRawText());
        bool chunks = accept is { ValueKind: JsonValueKind.Array } list && list.EnumerateArray().Any(x => x.GetString() == "chunks");
        JsonObject plan;
        if (version is null)
        {
            plan = new JsonObject { ["container_version"] = null, ["arch"] = "amd64", ["blobs"] = new JsonArray(), ["bytes_total"] = 0, ["bytes_to_download"] = 0 };
        }
        else
        {
            var all = version.Layers.Select((d, i) => (Digest: d, Size: version.LayerSizes[i])).Prepend((Digest: version.Config, Size: (long)Blobs.Bytes(version.Config).Length)).ToList();
            var missing = all.DistinctBy(b => b.Digest).Where(b => !have.Contains(b.Digest)).ToList();
            JsonObject Descriptor(string digest, long size) => new() { ["digest"] = digest, ["size"] = size, ["media_type"] = MediaTypeOf(digest) };
            JsonObject Blob((string Digest, long Size) b)
            {
                var blob = new JsonObject { ["digest"] = b.Digest, ["size"] = b.Size, ["media_type"] = MediaTypeOf(b.Digest), ["url"] = Url(b.Digest) };
                if (chunks && Chunks.TryGetValue(b.Digest, out var delta))
                {
                    blob["chunks"] = delta.DeepClone();
                }
                return blob;
            }
            plan = new JsonObject
            {
                ["container_version"] = version.Version,
                ["arch"] = "amd64",
                ["manifest_digest"] = "sha256:" + new string('0', 63) + version.Version % 10,
                ["config"] = Descriptor(all[0].Digest, all[0].Size),
                ["layers"] = new JsonArray(all.Skip(1).Select(l => (JsonNode)Descriptor(l.Digest, l.Size)).ToArray()),
                ["env"] = Descriptor(version.Env, Blobs.Bytes(version.Env).Length),
                ["env_url"] = Url(version.Env),
                ["network"] = new JsonObject { ["wan_configure_network"] = "disabled", ["lan_configure_network"] = "disabled", ["masquerade"] = false, ["lan"] = null },
                ["config_map"] = new JsonObject { ["greeting"] = "hello" },
                ["blobs"] = new JsonArray(missing.Select(b => (JsonNode)Blob(b)).ToArray()),
                ["bytes_total"] = all.DistinctBy(b => b.Digest).Sum(b => b.Size),
                ["bytes_to_download"] = missing.Sum(b => b.Size),
                ["urls_expire_at"] = DateTimeOffset.UtcNow.AddHours(1),
            };
        }
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(plan.ToJsonString());
    }

    private async Task StatusAsync(HttpContext http, string device, string instance)
    {
        if (!Authorized(http, device))
        {
            return;
        }
        using var body = await JsonDocument.ParseAsync(http.Request.Body);
        Reports.Enqueue((instance, body.RootElement.Clone()));
        http.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private string MediaTypeOf(string digest) => MediaTypes.GetValueOrDefault(digest, "application/octet-stream");

    /// <summary>The URL the fake serves a blob under (index, headers, pack and table of a chunk delta included).</summary>
    public string Url(string digest) => new Uri(BaseUri, "/blobs/" + digest[7..] + "?se=2099-01-01").ToString();
}

/// <summary>A version the fake serves: digests of its config, layers (in order) and env file.</summary>
public sealed record FakeVersion(int Version, string Config, IReadOnlyList<string> Layers, string Env, IReadOnlyList<long> LayerSizes);
