using System.Text.Json;

namespace Pipeline.Webhooks;

/// <summary>
/// Harbor webhooks, v2 (API.md "Registry webhooks", provider <c>harbor</c>;
/// https://goharbor.io/docs/main/working-with-projects/project-configuration/configure-webhooks/).
/// Only <c>PUSH_ARTIFACT</c> counts, one push per reported resource. Both payload formats a Harbor
/// policy can choose are read: "Default" (<c>type</c>, <c>occur_at</c>, <c>event_data</c>; no delivery id
/// in the body, and Harbor sends no header with one) and "CloudEvents" (<c>harbor.artifact.pushed</c>,
/// with an <c>id</c> and <c>time</c>, the same data under <c>data</c>).
/// </summary>
public sealed class HarborPayloadParser : IWebhookPayloadParser
{
    public string Provider => "harbor";

    private const string DefaultPushType = "PUSH_ARTIFACT";
    private const string CloudEventsPushType = "harbor.artifact.pushed";

    public WebhookPayload Parse(ReadOnlyMemory<byte> body, Func<string, string?> header)
    {
        using var document = WebhookJson.ParseObject(body);
        var root = document.RootElement;

        string? deliveryId;
        DateTimeOffset? occurredAt;
        string dataName;
        bool isPush;
        if (WebhookJson.Find(root, "specversion") is not null)
        {
            deliveryId = WebhookJson.OptionalString(root, "id") is { Length: > 0 } id ? id : null;
            occurredAt = WebhookJson.IsoTime(root, "time");
            dataName = "data";
            isPush = WebhookJson.RequiredString(root, "type") == CloudEventsPushType;
        }
        else
        {
            deliveryId = null;
            occurredAt = WebhookJson.UnixTime(root, "occur_at");
            dataName = "event_data";
            isPush = WebhookJson.RequiredString(root, "type") == DefaultPushType;
        }
        if (!isPush)
        {
            return new WebhookPayload(deliveryId, occurredAt, []);
        }

        string repository = WebhookJson.Repository(
            WebhookJson.RequiredString(root, $"{dataName}.repository.repo_full_name"), $"{dataName}.repository.repo_full_name");
        if (WebhookJson.OptionalArray(root, $"{dataName}.resources") is not { } resources || resources.GetArrayLength() == 0)
        {
            throw WebhookJson.Bad($"{dataName}.resources", "missing");
        }

        var pushes = new List<RegistryPush>();
        int index = 0;
        foreach (var resource in resources.EnumerateArray())
        {
            pushes.Add(ReadResource(resource, $"{dataName}.resources[{index++}]", repository));
        }
        return new WebhookPayload(deliveryId, occurredAt, pushes);
    }

    private static RegistryPush ReadResource(JsonElement resource, string name, string repository)
    {
        if (resource.ValueKind != JsonValueKind.Object)
        {
            throw WebhookJson.Bad(name, "expected an object");
        }
        string? tagText = WebhookJson.OptionalString(resource, "tag", name);
        string? digestText = WebhookJson.OptionalString(resource, "digest", name);
        // Harbor reports a push by digest with the digest in "tag" (it puts the reference pushed there).
        if (tagText is not null && (tagText == digestText || tagText.StartsWith("sha256:", StringComparison.Ordinal)))
        {
            tagText = null;
        }
        string? tag = WebhookJson.Tag(tagText, $"{name}.tag");
        var digest = WebhookJson.ManifestDigest(digestText, $"{name}.digest", hasTag: tag is not null);

        // resource_url is "<external host>/<repository>:<tag>" or "...@<digest>".
        string? host = null;
        if (WebhookJson.OptionalString(resource, "resource_url", name) is { Length: > 0 } url && url.IndexOf('/') is > 0 and var slash)
        {
            host = WebhookJson.Host(url[..slash], $"{name}.resource_url");
        }
        return new RegistryPush(host, repository, tag, digest);
    }
}
