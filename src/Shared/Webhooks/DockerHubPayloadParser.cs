namespace Pipeline.Webhooks;

/// <summary>
/// Docker Hub repository webhooks (API.md "Registry webhooks", provider <c>dockerhub</c>;
/// https://docs.docker.com/docker-hub/repos/manage/webhooks/). Docker Hub only ever sends pushes, one
/// tag at a time and without a digest, so the tag has to be resolved later; the host is the webhook's
/// registry (<c>docker.io</c> by default).
/// </summary>
public sealed class DockerHubPayloadParser : IWebhookPayloadParser
{
    public string Provider => "dockerhub";

    public WebhookPayload Parse(ReadOnlyMemory<byte> body, Func<string, string?> header)
    {
        using var document = WebhookJson.ParseObject(body);
        var root = document.RootElement;

        // Official images arrive as "nginx"; matching adds "library/" the same way for both sides.
        string repository = WebhookJson.Repository(WebhookJson.RequiredString(root, "repository.repo_name"), "repository.repo_name");
        string tag = WebhookJson.Tag(WebhookJson.RequiredString(root, "push_data.tag"), "push_data.tag")!;

        // No delivery id: the body has none and Docker Hub sends no headers of its own. callback_url is
        // not used as one: Docker no longer documents it, nor that it is unique per delivery (a per-webhook
        // value would make every later push look like a replay), and it is a URL that acts on the
        // webhook chain, which should not be kept in replay records or logs.
        return new WebhookPayload(
            DeliveryId: null,
            OccurredAt: WebhookJson.UnixTime(root, "push_data.pushed_at"),
            Pushes: [new RegistryPush(Host: null, repository, tag, Digest: null)]);
    }
}
