using System.Text.Json;
using Pipeline.Oci;

namespace Pipeline.Webhooks;

/// <summary>
/// GitHub Packages webhooks for container images (API.md "Registry webhooks", provider <c>github</c>;
/// https://docs.github.com/en/webhooks/webhook-events-and-payloads#package and <c>#registry_package</c>).
/// One delivery reports one package version, i.e. one manifest: a multi-arch push arrives as several
/// deliveries, each with its own digest. The host is the webhook's registry (<c>ghcr.io</c> by default).
/// </summary>
public sealed class GitHubPayloadParser : IWebhookPayloadParser
{
    public string Provider => "github";

    public WebhookPayload Parse(ReadOnlyMemory<byte> body, Func<string, string?> header)
    {
        using var document = WebhookJson.ParseObject(body);
        var root = document.RootElement;
        string? deliveryId = header("X-GitHub-Delivery") is { Length: > 0 } id ? id : null;
        string eventName = header("X-GitHub-Event") is { Length: > 0 } e ? e : throw WebhookJson.Bad("X-GitHub-Event", "missing");

        // GitHub has two events for a published container version: "package", the current one, and
        // "registry_package", the older one it keeps for existing hooks; the body is the same under a
        // different key. Anything else (ping, or events the hook also subscribes to) pushes nothing.
        string? key = eventName switch
        {
            "package" => "package",
            "registry_package" => "registry_package",
            _ => null,
        };
        if (key is null)
        {
            return new WebhookPayload(deliveryId, null, []);
        }

        string action = WebhookJson.RequiredString(root, "action");
        var occurredAt = OccurredAt(root, key);
        if (action is not ("published" or "updated")
            || !WebhookJson.RequiredString(root, $"{key}.package_type").Equals("container", StringComparison.OrdinalIgnoreCase))
        {
            return new WebhookPayload(deliveryId, occurredAt, []);
        }

        string version = $"{key}.package_version";
        if (WebhookJson.Find(root, version) is null)
        {
            throw WebhookJson.Bad(version, "missing");
        }

        // GHCR names are lower-case whatever case the owner's login has.
        string repository = WebhookJson.Repository(
            $"{WebhookJson.RequiredString(root, $"{key}.namespace")}/{WebhookJson.RequiredString(root, $"{key}.name")}".ToLowerInvariant(),
            $"{key}.namespace, {key}.name");

        // An untagged version (a platform manifest of a multi-arch image, say) has an empty tag name.
        string? tag = WebhookJson.Tag(WebhookJson.OptionalString(root, $"{version}.container_metadata.tag.name"), $"{version}.container_metadata.tag.name");
        string digestField = $"{version}.container_metadata.tag.digest";
        string? digestText = WebhookJson.OptionalString(root, digestField);
        if (string.IsNullOrEmpty(digestText) && WebhookJson.OptionalString(root, $"{version}.version") is { } named && Digest.TryParse(named, out _))
        {
            // A container package version is named by its manifest digest.
            digestText = named;
        }
        var digest = WebhookJson.ManifestDigest(digestText, digestField, hasTag: tag is not null);

        // Host stays null although package_url starts with one ("ghcr.io/owner/name:tag"): API.md has the
        // webhook's configured registry apply to github, which is what makes GitHub Enterprise hosts match.
        return new WebhookPayload(deliveryId, occurredAt, [new RegistryPush(Host: null, repository, tag, digest)]);
    }

    private static DateTimeOffset? OccurredAt(JsonElement root, string key) =>
        // Only the version's own time says when this push happened. Container versions carry Go's
        // zero time ("0001-01-01T00:00:00Z") there, and the package's updated_at is not promised
        // to move with every publication, so a GitHub delivery usually has no time: replays are
        // recognised by X-GitHub-Delivery instead.
        WebhookJson.IsoTime(root, $"{key}.package_version.updated_at") is { Year: > 1 } time ? time : null;
}
