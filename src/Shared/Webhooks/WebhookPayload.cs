using Pipeline.Oci;

namespace Pipeline.Webhooks;

/// <summary>
/// One image pushed, as a registry's webhook reports it: the registry host when the payload
/// names one (null: the webhook's configured registry applies), the repository, and the tag
/// and/or manifest digest. A push by digest alone has <see cref="Tag"/> null.
/// </summary>
public sealed record RegistryPush(string? Host, string Repository, string? Tag, Digest? Digest);

/// <summary>
/// What one delivery says: its id when the provider gives one (for replay detection), when the
/// provider says the event happened (null when it does not say), and the pushes it reports
/// (empty for events that are not pushes: pulls, deletes, blob uploads, pings).
/// </summary>
public sealed record WebhookPayload(string? DeliveryId, DateTimeOffset? OccurredAt, IReadOnlyList<RegistryPush> Pushes);

/// <summary>
/// Reads one provider's webhook body (API.md "Registry webhooks"). A body that is not JSON, or
/// not the provider's shape, is <see cref="ErrorCodes.BadInput"/>; an event that is not a push
/// is a payload with no pushes. Parsers never see or check the proof of authenticity.
/// </summary>
public interface IWebhookPayloadParser
{
    /// <summary>The provider's name in the route: <c>dockerhub</c>, <c>github</c>, <c>acr</c>, <c>harbor</c>, <c>distribution</c>.</summary>
    string Provider { get; }

    /// <param name="body">The raw body, at most 1 MiB.</param>
    /// <param name="header">A request header by name (case-insensitive), or null: e.g. <c>X-GitHub-Delivery</c>, <c>X-GitHub-Event</c>.</param>
    WebhookPayload Parse(ReadOnlyMemory<byte> body, Func<string, string?> header);
}
