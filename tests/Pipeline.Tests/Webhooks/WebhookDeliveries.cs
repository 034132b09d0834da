using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Webhooks;

namespace Pipeline.Tests.Webhooks;

/// <summary>A delivery as a provider would send it: its body and its headers (the proof is added when it is sent).</summary>
public sealed record Delivery(string Provider, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>How a delivery proves itself.</summary>
public enum Proof
{
    /// <summary>The provider's own way: GitHub signs, Docker Hub puts the secret in the query, the others send it as a bearer token.</summary>
    Right,
    None,
    /// <summary>The provider's way with a secret that is not the webhook's.</summary>
    Wrong,
}

/// <summary>
/// Push deliveries of each provider, made from the documented payloads in <c>Payloads/</c> with
/// the pushed registry host, repository, tag, digest, delivery id and time filled in.
/// </summary>
public static class WebhookDeliveries
{
    public static readonly string[] Providers = [WebhookProviders.DockerHub, WebhookProviders.GitHub, WebhookProviders.Acr, WebhookProviders.Harbor, WebhookProviders.Distribution];

    public static Delivery Push(string provider, string host, string repository, string tag, string digest, string? deliveryId = null, DateTimeOffset? at = null)
    {
        deliveryId ??= Guid.NewGuid().ToString();
        var when = at ?? DateTimeOffset.UtcNow;
        int slash = repository.IndexOf('/');
        var headers = new Dictionary<string, string>();
        JsonNode body;
        switch (provider)
        {
            case WebhookProviders.DockerHub:
                body = Load("dockerhub-push.json");
                body["repository"]!["repo_name"] = repository;
                body["repository"]!["namespace"] = repository[..slash];
                body["repository"]!["name"] = repository[(slash + 1)..];
                body["push_data"]!["tag"] = tag;
                body["push_data"]!["pushed_at"] = when.ToUnixTimeSeconds();
                break;
            case WebhookProviders.GitHub:
                body = Load("github-package-published.json");
                var package = body["package"]!;
                package["namespace"] = repository[..slash];
                package["name"] = repository[(slash + 1)..];
                package["updated_at"] = when.ToString("O");
                package["package_version"]!["container_metadata"]!["tag"]!["name"] = tag;
                package["package_version"]!["container_metadata"]!["tag"]!["digest"] = digest;
                package["package_version"]!["version"] = digest;
                headers["X-GitHub-Event"] = "package";
                headers["X-GitHub-Delivery"] = deliveryId;
                break;
            case WebhookProviders.Acr:
                body = Load("acr-push.json");
                body["id"] = deliveryId;
                body["timestamp"] = when.ToString("O");
                body["target"]!["repository"] = repository;
                body["target"]!["tag"] = tag;
                body["target"]!["digest"] = digest;
                body["request"]!["host"] = host;
                break;
            case WebhookProviders.Harbor:
                body = Load("harbor-push-artifact.json");
                body["occur_at"] = when.ToUnixTimeSeconds();
                body["event_data"]!["repository"]!["repo_full_name"] = repository;
                var resource = body["event_data"]!["resources"]![0]!;
                resource["tag"] = tag;
                resource["digest"] = digest;
                resource["resource_url"] = $"{host}/{repository}:{tag}";
                break;
            case WebhookProviders.Distribution:
                // The documented envelope's manifest event: a push of the tag, as the registry sends it after the blobs.
                var envelope = Load("distribution-push.json");
                var manifest = envelope["events"]!.AsArray().First(e => e!["target"]!["tag"] is not null)!.DeepClone();
                manifest["id"] = deliveryId;
                manifest["timestamp"] = when.ToString("O");
                manifest["target"]!["repository"] = repository;
                manifest["target"]!["tag"] = tag;
                manifest["target"]!["digest"] = digest;
                manifest["request"]!["host"] = host;
                body = new JsonObject { ["events"] = new JsonArray(manifest) };
                headers["Content-Type"] = "application/vnd.docker.distribution.events.v1+json";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(provider));
        }
        return new Delivery(provider, body.ToJsonString(), headers);
    }

    private static JsonNode Load(string file) => PayloadFiles.Node(file);
}

/// <summary>Sends deliveries to <c>POST /api/webhooks/{provider}/{customer_id}</c> as the registries do.</summary>
public sealed class WebhookClient(Uri baseUri) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };

    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(string customerId, Delivery delivery, string secret, Proof proof = Proof.Right, string? providerInPath = null)
    {
        string key = proof == Proof.Wrong ? "whsec_not-the-secret" : secret;
        string path = $"/api/webhooks/{providerInPath ?? delivery.Provider}/{customerId}";
        if (proof != Proof.None && delivery.Provider == WebhookProviders.DockerHub)
        {
            path += "?token=" + Uri.EscapeDataString(key);
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(delivery.Body)),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(delivery.Headers.GetValueOrDefault("Content-Type", "application/json"));
        foreach (var (name, value) in delivery.Headers.Where(h => h.Key != "Content-Type"))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (proof != Proof.None && delivery.Provider == WebhookProviders.GitHub)
        {
            request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(delivery.Body))));
        }
        else if (proof != Proof.None && delivery.Provider != WebhookProviders.DockerHub)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }
        using var response = await _http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public void Dispose() => _http.Dispose();
}
