namespace Pipeline.Webhooks;

/// <summary>The registries that can call the webhook route, their parsers, and the registry host each defaults to.</summary>
public static class WebhookProviders
{
    public const string DockerHub = "dockerhub";
    public const string GitHub = "github";
    public const string Acr = "acr";
    public const string Harbor = "harbor";
    public const string Distribution = "distribution";

    private static readonly Dictionary<string, IWebhookPayloadParser> Parsers = new IWebhookPayloadParser[]
    {
        new DockerHubPayloadParser(),
        new GitHubPayloadParser(),
        new AcrPayloadParser(),
        new HarborPayloadParser(),
        new DistributionPayloadParser(),
    }.ToDictionary(p => p.Provider, StringComparer.Ordinal);

    public static IReadOnlyCollection<string> Names => Parsers.Keys;

    public static bool IsKnown(string? provider) => provider is not null && Parsers.ContainsKey(provider);

    public static IWebhookPayloadParser Parser(string provider) => Parsers[provider];

    /// <summary>
    /// The registry host pushes refer to when <c>DM_create_webhook</c> names none: Docker Hub's and
    /// GHCR's are fixed; ACR, Harbor and the CNCF registry name their host in each payload, so
    /// they need none (null) unless the payload omits it.
    /// </summary>
    public static string? DefaultRegistry(string provider) => provider switch
    {
        DockerHub => Oci.ImageReference.DockerHub,
        GitHub => "ghcr.io",
        _ => null,
    };

    /// <summary>Whether the provider proves itself with an HMAC of the body (GitHub) rather than the secret as a bearer token.</summary>
    public static bool SignsBody(string provider) => provider == GitHub;
}
