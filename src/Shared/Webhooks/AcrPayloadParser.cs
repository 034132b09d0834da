namespace Pipeline.Webhooks;

/// <summary>
/// Azure Container Registry webhooks (API.md "Registry webhooks", provider <c>acr</c>;
/// https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference).
/// Only <c>push</c> of an image manifest or index counts; deletes, Helm chart pushes and deletes,
/// quarantine and pings push nothing. The host is the registry's login server from the request.
/// </summary>
public sealed class AcrPayloadParser : IWebhookPayloadParser
{
    public string Provider => "acr";

    public WebhookPayload Parse(ReadOnlyMemory<byte> body, Func<string, string?> header)
    {
        using var document = WebhookJson.ParseObject(body);
        var root = document.RootElement;
        string? deliveryId = WebhookJson.OptionalString(root, "id") is { Length: > 0 } id ? id : null;
        var occurredAt = WebhookJson.IsoTime(root, "timestamp");

        if (WebhookJson.RequiredString(root, "action") != "push"
            || !WebhookJson.IsManifestMediaType(WebhookJson.OptionalString(root, "target.mediaType")))
        {
            return new WebhookPayload(deliveryId, occurredAt, []);
        }

        string repository = WebhookJson.Repository(WebhookJson.RequiredString(root, "target.repository"), "target.repository");
        // A push by digest (each platform manifest of a multi-arch push, say) has no tag.
        string? tag = WebhookJson.Tag(WebhookJson.OptionalString(root, "target.tag"), "target.tag");
        var digest = WebhookJson.ManifestDigest(WebhookJson.OptionalString(root, "target.digest"), "target.digest", hasTag: tag is not null);
        string? host = WebhookJson.Host(WebhookJson.OptionalString(root, "request.host"), "request.host");

        return new WebhookPayload(deliveryId, occurredAt, [new RegistryPush(host, repository, tag, digest)]);
    }
}
