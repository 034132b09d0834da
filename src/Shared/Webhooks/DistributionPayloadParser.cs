using System.Text.Json;

namespace Pipeline.Webhooks;

/// <summary>
/// CNCF Distribution registry notifications (API.md "Registry webhooks", provider <c>distribution</c>;
/// https://distribution.github.io/distribution/about/notifications/, envelope and event as in the
/// <c>notifications</c> package). An envelope may carry several unrelated events (current registries send
/// one per envelope, older ones batched); a push counts when it is a manifest or index push. Blob pushes, pulls, mounts and deletes push nothing, and so does an empty envelope.
/// </summary>
public sealed class DistributionPayloadParser : IWebhookPayloadParser
{
    public string Provider => "distribution";

    public WebhookPayload Parse(ReadOnlyMemory<byte> body, Func<string, string?> header)
    {
        using var document = WebhookJson.ParseObject(body);
        var root = document.RootElement;

        // The registry leaves "events" out of an envelope with none (omitempty).
        if (WebhookJson.OptionalArray(root, "events") is not { } events)
        {
            return new WebhookPayload(null, null, []);
        }

        var pushes = new List<RegistryPush>();
        string? deliveryId = null;
        DateTimeOffset? occurredAt = null;
        int index = 0;
        foreach (var item in events.EnumerateArray())
        {
            string name = $"events[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw WebhookJson.Bad(name, "expected an object");
            }
            if (WebhookJson.OptionalString(item, "action", name) != "push"
                || !WebhookJson.IsManifestMediaType(WebhookJson.OptionalString(item, "target.mediaType", name)))
            {
                continue;
            }

            string repository = WebhookJson.Repository(WebhookJson.RequiredString(item, "target.repository", name), $"{name}.target.repository");
            // A manifest pushed by digest (the platform manifests of a multi-arch image, before their
            // index) has no tag, and matches no image source by itself.
            string? tag = WebhookJson.Tag(WebhookJson.OptionalString(item, "target.tag", name), $"{name}.target.tag");
            var digest = WebhookJson.ManifestDigest(WebhookJson.OptionalString(item, "target.digest", name), $"{name}.target.digest", hasTag: tag is not null);
            string? host = WebhookJson.Host(WebhookJson.OptionalString(item, "request.host", name), $"{name}.request.host");
            var timestamp = WebhookJson.IsoTime(item, "timestamp", name);

            if (pushes.Count == 0)
            {
                // The registry retries an envelope as it was, and every event id is a fresh UUID, so the
                // first counted event's id names the delivery without growing with the envelope.
                deliveryId = WebhookJson.OptionalString(item, "id", name) is { Length: > 0 } id ? id : null;
                occurredAt = timestamp;
            }
            pushes.Add(new RegistryPush(host, repository, tag, digest));
        }
        return new WebhookPayload(deliveryId, occurredAt, pushes);
    }
}
